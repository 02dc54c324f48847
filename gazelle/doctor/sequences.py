"""The doctor's sequence family: token-id inputs that feed an Embedding (padding that no
mask hides, a vocabulary that misses most tokens, texts cut short), and the same measured
on raw strings with a TextVectorization layer (`text_findings`). [doctor: numpy]
"""
import numpy as np

from gazelle.doctor.anatomy import (_SAMPLE, _class_names, _is_rnn, _is_sequential,
                                    _sublayers)
from gazelle.doctor.findings import Finding


# Layers that run on the host before fit (strings to ids): the model's compiled part starts
# after them, and x already holds their ids when the doctor looks at it.
_HOST_LAYERS = {"TextVectorization", "StringLookup", "IntegerLookup", "Hashing"}
_ATTENTION = {"MultiHeadAttention", "Attention", "AdditiveAttention", "GroupedQueryAttention"}
_AVERAGING = {"GlobalAveragePooling1D", "AveragePooling1D"}
_PADDING_SHARE = 0.25   # share of padding tokens from which a model without a mask is warned
_OOV_SHARE = 0.3        # share of the [UNK] id among the real tokens: the vocabulary misses
_CUT_SHARE = 0.5        # share of rows without padding (or longer than the length): texts cut
_MIN_TOKENS = 50        # real tokens in the sample before the vocabulary is judged


def _own_mask(layer):
    """Whether a user's layer computes its own mask (a custom embedding that masks 0)."""
    owner = next((c for c in type(layer).__mro__ if "compute_mask" in c.__dict__), None)
    return owner is not None and not owner.__module__.startswith("gazelle.")


def _first_embedding(layers):
    """The Embedding that reads the input of a chain of layers: the first computing layer
    (after host layers), or the first layer inside it (a nested model, or a user's token +
    position embedding); None when the chain starts with anything else."""
    for layer in layers:
        names = _class_names(layer)
        if "InputLayer" in names or names & _HOST_LAYERS:
            continue
        if "Embedding" in names and hasattr(layer, "mask_zero"):
            return layer
        inner = getattr(layer, "layers", None) if _is_model(layer) else \
            getattr(layer, "_layers", None)
        return _first_embedding(list(inner)) if inner else None
    return None


def _is_model(layer):
    return any(c.__name__ in ("Model", "Functional", "Sequential")
               for c in type(layer).__mro__) and hasattr(layer, "layers")


def _tensor_leaves(value):
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensor_leaves(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensor_leaves(v)]
    return [value]


def _token_inputs(model, x):
    """`(ids, embedding, top, after)` for each input of `model` whose first computing layer
    is (or starts with) an Embedding: the array of x, the Embedding, the model's layer that
    holds it, and the layers that compute from its output."""
    tensors = getattr(model, "_input_tensors", None)
    found = []
    if tensors is not None and hasattr(model, "_nodes"):                    # Functional
        if isinstance(x, dict):
            leaves = [x.get(t.node.layer.name) for t in tensors]
        else:
            leaves = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(leaves) != len(tensors):
            return found
        consumers = {}
        for node in model._nodes:
            for t in node.input_tensors:
                consumers.setdefault(id(t), []).append(node)

        def after(node):
            return [n for out in _tensor_leaves(node.outputs) for n in consumers.get(id(out), [])]
        for t, leaf in zip(tensors, leaves):
            nodes = consumers.get(id(t), [])
            while len(nodes) == 1 and _class_names(nodes[0].layer) & _HOST_LAYERS:
                nodes = after(nodes[0])
            # Ids that feed more layers than the embedding (e.g. a hand-made attention mask)
            # are the user's own business.
            if len(nodes) != 1 or _first_embedding([nodes[0].layer]) is None:
                continue
            downstream, todo, seen = [], [nodes[0]], set()
            while todo:
                for n in after(todo.pop()):
                    if id(n) not in seen:
                        seen.add(id(n))
                        todo.append(n)
                        downstream.append(n.layer)
            found.append((leaf, _first_embedding([nodes[0].layer]), nodes[0].layer,
                          downstream))
    elif _is_sequential(model) and not isinstance(x, (list, tuple, dict)):
        layers = list(model.layers)
        for i, layer in enumerate(layers):
            names = _class_names(layer)
            if "InputLayer" in names or names & _HOST_LAYERS:
                continue
            embedding = _first_embedding([layer])
            if embedding is not None:
                found.append((x, embedding, layer, layers[i + 1:]))
            break
    return found


def _id_sample(leaf):
    """At most _SAMPLE rows, spread over the data, of a 2-D array of token ids; else None."""
    if not isinstance(leaf, np.ndarray) or leaf.ndim != 2 or leaf.dtype.kind not in "iu" \
            or leaf.shape[1] < 2 or not leaf.size:
        return None
    ids = np.asarray(leaf[::max(1, len(leaf) // _SAMPLE)][:_SAMPLE])
    return ids if ids.min() >= 0 else None


def _padding_layout(ids):
    """Where the padding id 0 sits in rows of ids: `"post"` (a run at the end of each row),
    `"pre"` (a run at the start), or None (no zeros, or zeros among the tokens, so 0 is a
    real token)."""
    real = ids != 0
    padded = ~real.all(axis=1)
    if not padded.any():
        return None
    post = ~(real[:, 1:] & ~real[:, :-1]).any(axis=1)      # no token after a 0
    pre = ~(~real[:, 1:] & real[:, :-1]).any(axis=1)       # no 0 after a token
    post_share, pre_share = post[padded].mean(), pre[padded].mean()
    if max(post_share, pre_share) < 0.95:
        return None
    return "post" if post_share >= pre_share else "pre"


def _reads_padding(layers):
    """The first of `layers` (or layer inside them) that takes padded positions as data."""
    for layer in layers:
        for sub in _sublayers(layer):
            names = _class_names(sub)
            if _is_rnn(sub) or names & _ATTENTION or names & _AVERAGING:
                return sub
    return None


def _has_masking(model):
    return any("Masking" in _class_names(layer) for layer in _sublayers(model))


def _padding_finding(model, leaf, ids, layout, embedding, top, after):
    real = ids != 0
    share = float(1 - real.mean())
    if layout is None or share < _PADDING_SHARE or embedding.mask_zero or \
            _has_masking(model) or _own_mask(top):
        return []
    inside = [layer for layer in _sublayers(top) if layer is not embedding and layer is not top]
    reader = _reads_padding(inside + list(after))
    if reader is None:
        return []
    length = ids.shape[1]
    pad = length - real.sum(axis=1)
    mean_pad = float(pad.mean())
    kind = type(reader).__name__
    if _is_rnn(reader):
        how = (f"the recurrent layer '{reader.name}' ({kind}) reads the padding as data: with "
               f"post-padding its last state comes after {mean_pad:.0f} padding steps on "
               "average, which wash out what it read from the text"
               if layout == "post" else
               f"the recurrent layer '{reader.name}' ({kind}) reads the padding as data: with "
               f"pre-padding it runs through {mean_pad:.0f} padding steps on average before "
               "each text, so texts of different lengths start from different states")
    elif _class_names(reader) & _ATTENTION:
        how = (f"the attention layer '{reader.name}' ({kind}) attends to the padding "
               "positions as if they were tokens")
    else:
        how = (f"'{reader.name}' ({kind}) averages the padding vectors in with the tokens, "
               "and dilutes shorter texts more")
    return [Finding("padding_without_mask", "warning",
        f"Padded sequences without a mask: {share:.0%} of the tokens in x (shape "
        f"{leaf.shape}) are the padding id 0, {layout}-padded ({mean_pad:.1f} of "
        f"{length} positions per row on average), but Embedding '{embedding.name}' has "
        f"mask_zero=False and the model has no Masking layer, so {how}. Pass "
        f"Embedding(..., mask_zero=True) so that the layers after it skip the padding (id 0 "
        "must then mean padding only, as in TextVectorization's and pad_sequences' ids); "
        "for inputs that are already vectors, start with a Masking(mask_value=0.0) layer.",
        {"padding_share": share, "layout": layout, "mean_padding": mean_pad,
         "length": length, "embedding": embedding.name, "layer": reader.name})]


def _oov_finding(ids, where):
    """Id 1 (the [UNK] id of TextVectorization/StringLookup) crowding out the real tokens."""
    real = ids[ids != 0]
    if real.size < _MIN_TOKENS:
        return []
    values, counts = np.unique(real, return_counts=True)
    oov = int(counts[values == 1].sum())
    share = oov / real.size
    # Id 1 must also dwarf every other id: in some encodings it is a real, common token.
    others = counts[values != 1]
    runner_up = int(others.max()) if others.size else 0
    if share <= _OOV_SHARE or oov < 3 * runner_up:
        return []
    return [Finding("mostly_oov", "warning",
        f"Most tokens are out of vocabulary: id 1, the [UNK] (out-of-vocabulary) id of "
        f"TextVectorization and StringLookup, is {share:.0%} of the {real.size} non-padding "
        f"tokens {where}, {oov / max(runner_up, 1):.0f}x as often as any other id. The model "
        "sees one 'unknown' token in place of most words, so it can hardly tell the texts "
        "apart. The vocabulary misses most tokens: it was adapted on other data, max_tokens "
        "is too small, or the texts were standardized differently from those it was adapted "
        "on (case, punctuation, split). Adapt the layer on the training texts "
        "(vectorizer.adapt(train_texts)), raise max_tokens, and compare "
        "vectorizer.get_vocabulary()[:20] with your tokens. (If id 1 is a real token in your "
        "own encoding, ignore this.)",
        {"oov_share": share, "tokens": int(real.size), "oov_id": 1})]


def _truncation_finding(leaf, ids, layout):
    """Most rows filled to the last position while the rest are padded: texts were cut."""
    if layout is None or ids.shape[1] < 4:
        return []
    full = (ids != 0).all(axis=1)
    padded = int((~full).sum())
    share = float(full.mean())
    if share <= _CUT_SHARE or padded < max(10, 0.05 * len(ids)):
        return []
    length = ids.shape[1]
    return [Finding("truncated_sequences", "warning",
        f"Most sequences were probably cut: {share:.0%} of the rows of x (shape "
        f"{leaf.shape}) have no padding at all, while the other rows are {layout}-padded, so "
        f"most texts were likely longer than the {length} tokens they were cut to, and what "
        "was cut is lost to the model. TextVectorization(output_sequence_length=...) keeps "
        "the first tokens and drops the end; pad_sequences(maxlen=...) with its default "
        "truncating='pre' drops the start. Use a longer output_sequence_length (or maxlen), "
        "e.g. the 90th percentile of the texts' token counts, or truncate the part that "
        "matters less (pad_sequences' truncating='post' keeps the start).",
        {"full_rows_share": share, "length": length, "layout": layout})]


def sequence_findings(model, x):
    """Checks of token-id inputs that feed an Embedding: padding that no mask hides, a
    vocabulary that misses most tokens, sequences cut short."""
    found, codes = [], set()
    for leaf, embedding, top, after in _token_inputs(model, x):
        ids = _id_sample(leaf)
        if ids is None:
            continue
        layout = _padding_layout(ids)
        # Id 1 means [UNK] only where 0 means padding (TextVectorization's ids, not
        # StringLookup's default ones, where 0 is [UNK] and 1 the most common token).
        for finding in (_padding_finding(model, leaf, ids, layout, embedding, top, after)
                        + (_oov_finding(ids, "in a sample of x") if layout else [])
                        + _truncation_finding(leaf, ids, layout)):
            if finding.code not in codes:
                codes.add(finding.code)
                found.append(finding)
    return found


def text_findings(vectorizer, texts):
    """`mostly_oov` and `truncated_sequences` measured on raw strings with a
    `TextVectorization` layer: the share of tokens its vocabulary maps to an
    out-of-vocabulary id, and the share of texts longer than its `output_sequence_length`
    (token counts from the layer's own standardize and split, n-grams included).

    Args:
        vectorizer: a gazelle `TextVectorization` layer.
        texts: a sample of the raw strings (a NumPy array of str, shape (n,) or (n, 1));
            at most _SAMPLE of them, spread over the array, are looked at.

    Returns:
        A list of `Finding`s (empty when nothing is wrong).
    """
    texts = np.asarray(texts)
    if texts.ndim == 2 and texts.shape[-1] == 1:
        texts = texts[:, 0]
    if texts.ndim != 1 or not len(texts):
        return []
    texts = texts[::max(1, len(texts) // _SAMPLE)][:_SAMPLE]
    rows = vectorizer._preprocess(texts)
    if not isinstance(rows, list):                   # split=None: each text is one token
        rows = [[t] for t in np.asarray(rows, dtype=object).reshape(-1).tolist()]
    found = []
    lookup = vectorizer._lookup_layer
    tokens = [t for row in rows for t in row]
    if lookup.num_oov_indices > 0 and len(tokens) >= _MIN_TOKENS:
        ids = lookup._lookup(np.array(tokens, dtype=object))
        start = lookup._oov_start_index()
        unknown = (ids >= start) & (ids < start + lookup.num_oov_indices)
        share = float(unknown.mean())
        if share > _OOV_SHARE:
            values, counts = np.unique(np.array(tokens, dtype=object)[unknown].astype(str),
                                       return_counts=True)
            common = [str(v) for v in values[np.argsort(-counts, kind="stable")][:8]]
            size = lookup.vocabulary_size()
            empty = size <= lookup._token_start_index()
            cause = (f"The layer '{vectorizer.name}' has no vocabulary yet: call "
                     "vectorizer.adapt(train_texts) before vectorizing." if empty else
                     f"Its vocabulary ({size} entries, max_tokens={lookup.max_tokens}) "
                     "misses most tokens: it was adapted on other data, max_tokens is too "
                     "small, or the texts were standardized differently from those it was "
                     "adapted on (case, punctuation, split). Adapt it on the training texts "
                     "(vectorizer.adapt(train_texts)) or raise max_tokens.")
            found.append(Finding("mostly_oov", "warning",
                f"Most tokens are out of vocabulary: TextVectorization '{vectorizer.name}' "
                f"maps {share:.0%} of the {len(tokens)} tokens of {len(rows)} sample texts "
                f"to its [UNK] id (the most common unknown ones: {common}), so the model sees "
                f"one 'unknown' token in place of most words and can hardly tell the texts "
                f"apart. {cause}",
                {"oov_share": share, "tokens": len(tokens), "vocabulary_size": size,
                 "unknown_examples": common}))
    length = vectorizer._output_sequence_length
    if vectorizer._output_mode == "int" and length is not None and rows:
        counts = np.array([len(row) for row in rows])
        cut = counts > length
        share = float(cut.mean())
        if share > _CUT_SHARE:
            lost = float(np.maximum(counts - length, 0).sum() / max(counts.sum(), 1))
            p90 = int(np.percentile(counts, 90))
            found.append(Finding("truncated_sequences", "warning",
                f"Most texts are cut: {share:.0%} of {len(rows)} sample texts have more than "
                f"output_sequence_length={length} tokens (median {int(np.median(counts))}, "
                f"90th percentile {p90}), so TextVectorization '{vectorizer.name}' keeps "
                f"their first {length} tokens and drops the end: {lost:.0%} of all tokens "
                f"never reach the model. Use a longer output_sequence_length (e.g. {p90}, "
                "the 90th percentile), or if the start of the texts matters less, cut them "
                "yourself (pad_sequences(..., truncating='pre') keeps the end).",
                {"cut_share": share, "output_sequence_length": length,
                 "median_tokens": float(np.median(counts)), "p90_tokens": p90,
                 "lost_share": lost}))
    return found
