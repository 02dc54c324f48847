"""The doctor on sequence models: exploding gradients in recurrent layers, padded token
ids that no mask hides, a vocabulary that misses most tokens, and texts cut short.

gazelle-only behaviour (Keras has no doctor): each case triggers exactly its own finding,
and the look-alikes that are fine trigger none. Checks of what does NOT warn use
`epochs=0`: the before-fit checks still run, and nothing is compiled.
"""
import numpy as np
import pytest

import gazelle as keras
from doctor_helpers import fit_codes
from gazelle.training import diagnostics
from gazelle.training.diagnostics import text_findings

L = keras.layers


def token_ids(n=600, length=20, vocab=50, lengths=(4, 12), pre=False, seed=0):
    """Random token ids 2..vocab-1, each row padded with 0 after (or before) its length."""
    rng = np.random.default_rng(seed)
    x = rng.integers(2, vocab, (n, length)).astype("int32")
    for i, k in enumerate(rng.integers(lengths[0], lengths[1] + 1, n)):
        if pre:
            x[i, :max(length - k, 0)] = 0
        else:
            x[i, k:] = 0
    y = (x.sum(axis=1) % 2).astype("float32")
    return x, y


def text_model(middle=None, mask_zero=False, length=20, vocab=50, before=()):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([L.Input((length,), dtype="int32"), *before,
                              L.Embedding(vocab, 8, mask_zero=mask_zero),
                              *(middle if middle is not None else [L.LSTM(8)]),
                              L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    return model


# -- exploding gradients in recurrent layers ---------------------------------------------
def steps_data(n=256, length=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, length, 4)).astype("float32")
    return x, (x[:, :, 0].sum(axis=1, keepdims=True) / 6).astype("float32")


@pytest.mark.parametrize("wrap", [False, True], ids=["SimpleRNN", "Bidirectional"])
def test_exploding_gradients_in_an_rnn_say_clipnorm_first(wrap):
    # A linear recurrence whose matrix has gain 1.3: over 40 steps its products grow ~1e4x.
    x, y = steps_data()
    keras.utils.set_random_seed(0)
    rnn = L.SimpleRNN(16, activation=None,
                      recurrent_initializer=keras.initializers.Orthogonal(gain=1.3))
    model = keras.Sequential([L.Input((40, 4)), L.Bidirectional(rnn) if wrap else rnn,
                              L.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(1e-3))
    found, _ = fit_codes(model, x, y, epochs=1, batch_size=32)
    assert set(found) == {"exploding_gradients"}
    message = found["exploding_gradients"]
    assert f"recurrent layer: '{model.layers[0].name}'" in message
    assert "keras.optimizers.Adam(clipnorm=1.0)" in message
    assert message.index("clipnorm") < message.index("lower the learning rate")


def test_a_healthy_rnn_is_probed_once_and_gets_nothing(monkeypatch):
    calls = []
    original = diagnostics.gradient_norms
    monkeypatch.setattr(diagnostics, "gradient_norms",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    x, y = token_ids(n=256)
    model = text_model(mask_zero=True)
    found, _ = fit_codes(model, x, y, epochs=2)
    assert found == {} and len(calls) == 1          # after the first epoch only
    found, _ = fit_codes(model, x, y, epochs=1)
    assert found == {} and len(calls) == 1          # once per compiled model


def test_dense_exploding_gradients_keep_the_general_advice():
    rows = [{"layer": "dense", "grad_norm": 1e6, "weight_norm": 3.0, "recurrent": False}]
    [finding] = diagnostics.gradient_findings(1.0, rows)
    assert "recurrent" not in finding.message and "Lower the learning rate" in finding.message
    rows[0]["recurrent"] = True
    [finding] = diagnostics.gradient_findings(1.0, rows)
    assert finding.code == "exploding_gradients" and finding.details["recurrent"]
    assert "Adam(clipnorm=1.0)" in finding.message


def test_nonfinite_loss_in_an_rnn_puts_clipping_first():
    x, y = steps_data(n=128)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([L.Input((40, 4)), L.SimpleRNN(8, activation=None), L.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.1))
    found, _ = fit_codes(model, x, y, epochs=1, batch_size=32)
    assert set(found) == {"nonfinite_loss"}
    fixes = found["nonfinite_loss"].split("Fixes: ")[1]
    assert fixes.startswith("clip gradients first") and "Adam(clipnorm=1.0)" in fixes


# -- padding without a mask --------------------------------------------------------------
@pytest.mark.parametrize("pre", [False, True], ids=["post", "pre"])
def test_padding_without_mask_before_an_lstm(pre):
    x, y = token_ids(pre=pre)
    found, _ = fit_codes(text_model(), x, y, epochs=0)
    assert set(found) == {"padding_without_mask"}
    message = found["padding_without_mask"]
    share = (x == 0).mean()
    assert f"{share:.0%} of the tokens" in message and f"{'pre' if pre else 'post'}-padded" \
        in message
    assert "reads the padding as data" in message and "mask_zero=True" in message
    if not pre:
        assert "last state comes after" in message


@pytest.mark.parametrize("middle", ["gru", "average", "bidirectional"])
def test_padding_without_mask_before_other_readers(middle):
    layers = {"gru": [L.GRU(8)], "average": [L.GlobalAveragePooling1D()],
              "bidirectional": [L.Bidirectional(L.LSTM(4))]}[middle]
    x, y = token_ids()
    found, _ = fit_codes(text_model(layers), x, y, epochs=0)
    assert set(found) == {"padding_without_mask"}
    assert ("averages the padding" if middle == "average" else "reads the padding") in \
        found["padding_without_mask"]


def test_padding_without_mask_before_attention_in_a_functional_model():
    x, y = token_ids()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((20,), dtype="int32")
    h = L.Embedding(50, 8)(inputs)
    h = L.MultiHeadAttention(2, 4)(h, h)
    model = keras.Model(inputs, L.Dense(1, activation="sigmoid")(L.GlobalMaxPooling1D()(h)))
    model.compile(loss="binary_crossentropy", optimizer="adam")
    found, _ = fit_codes(model, x, y, epochs=0)
    assert set(found) == {"padding_without_mask"}
    assert "attends to the padding" in found["padding_without_mask"]


@pytest.mark.parametrize("case", ["mask_zero", "few_zeros", "max_pooling", "flatten",
                                  "zero_is_a_token", "float_steps"])
def test_padding_without_mask_negatives(case):
    x, y = token_ids()
    model = None
    if case == "mask_zero":
        model = text_model(mask_zero=True)
    elif case == "few_zeros":                       # about 12% padding
        x, y = token_ids(lengths=(15, 20))
        assert (x == 0).mean() < 0.2
    elif case == "max_pooling":                     # a CNN on text: padding is harmless
        model = text_model([L.Conv1D(8, 3, activation="relu"), L.GlobalMaxPooling1D()])
    elif case == "flatten":
        model = text_model([L.Flatten()])
    elif case == "zero_is_a_token":                 # zeros among the tokens: not padding
        x = np.random.default_rng(0).integers(0, 3, (600, 20)).astype("int32")
    elif case == "float_steps":                     # no Embedding: float steps with zeros
        keras.utils.set_random_seed(0)
        x = x[..., None].astype("float32") / 50
        model = keras.Sequential([L.Input((20, 1)), L.LSTM(8),
                                  L.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="adam")
    found, _ = fit_codes(model or text_model(), x, y, epochs=0)
    assert found == {}


def test_a_hand_made_mask_from_the_ids_is_respected():
    x, y = token_ids()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((20,), dtype="int32")
    mask = keras.ops.expand_dims(keras.ops.not_equal(inputs, 0), 1)
    h = L.Embedding(50, 8)(inputs)
    h = L.MultiHeadAttention(2, 4)(h, h, attention_mask=mask)
    model = keras.Model(inputs, L.Dense(1, activation="sigmoid")(L.GlobalMaxPooling1D()(h)))
    model.compile(loss="binary_crossentropy", optimizer="adam")
    found, _ = fit_codes(model, x, y, epochs=0)
    assert found == {}


def test_a_string_model_is_judged_on_the_ids_of_its_text_layer():
    rng = np.random.default_rng(0)
    texts = np.array([" ".join(f"w{i}" for i in rng.integers(0, 40, rng.integers(3, 9)))
                      for _ in range(300)])
    y = rng.integers(0, 2, 300).astype("float32")
    vectorize = L.TextVectorization(output_sequence_length=24)
    vectorize.adapt(texts)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,), dtype="string"), vectorize,
                              L.Embedding(vectorize.vocabulary_size(), 8), L.LSTM(8),
                              L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    found, _ = fit_codes(model, texts[:, None], y, epochs=0)
    assert set(found) == {"padding_without_mask"}


# -- a vocabulary that misses most tokens ------------------------------------------------
def test_mostly_oov_ids():
    x, y = token_ids()
    unknown = (np.random.default_rng(1).random(x.shape) < 0.6) & (x != 0)
    x[unknown] = 1
    found, _ = fit_codes(text_model(mask_zero=True), x, y, epochs=0)
    assert set(found) == {"mostly_oov"}
    share = (x == 1).sum() / (x != 0).sum()
    assert f"is {share:.0%} of the {(x != 0).sum()} non-padding tokens" in found["mostly_oov"]
    assert "max_tokens is too small" in found["mostly_oov"]


@pytest.mark.parametrize("case", ["some_unknown", "small_alphabet", "lookup_ids"])
def test_mostly_oov_negatives(case):
    x, y = token_ids()
    rng = np.random.default_rng(1)
    if case == "some_unknown":                      # 15% unknown words: a fine vocabulary
        x[(rng.random(x.shape) < 0.15) & (x != 0)] = 1
    elif case == "small_alphabet":                  # 3 symbols, id 1 the most common (40%)
        x = np.where(x != 0, rng.choice([1, 2, 3], x.shape, p=[0.4, 0.3, 0.3]), 0)
        x = x.astype("int32")
    else:       # StringLookup's default ids: 0 is [UNK], 1 the most common category (60%)
        x = rng.choice(np.arange(8), x.shape, p=[0.05, 0.6] + [0.35 / 6] * 6).astype("int32")
    found, _ = fit_codes(text_model(mask_zero=True), x, y, epochs=0)
    assert found == {}


# -- sequences cut short ------------------------------------------------------------------
@pytest.mark.parametrize("pre", [False, True], ids=["post", "pre"])
def test_truncated_sequences(pre):
    x, y = token_ids(lengths=(12, 40), pre=pre)      # lengths up to 40 cut to 20
    full = (x != 0).all(axis=1).mean()
    assert full > 0.5
    found, _ = fit_codes(text_model(mask_zero=True), x, y, epochs=0)
    assert set(found) == {"truncated_sequences"}
    message = found["truncated_sequences"]
    assert f"{full:.0%} of the rows" in message and "output_sequence_length" in message
    assert "truncating='pre' drops the start" in message


@pytest.mark.parametrize("case", ["fixed_windows", "few_full_rows"])
def test_truncated_sequences_negatives(case):
    if case == "fixed_windows":                     # no padding anywhere: nothing was cut
        x, y = token_ids(lengths=(20, 20))
    else:                                           # about a third of the rows are full
        x, y = token_ids(lengths=(12, 24))
        assert (x != 0).all(axis=1).mean() < 0.5
    found, _ = fit_codes(text_model(mask_zero=True), x, y, epochs=0)
    assert found == {}


# -- text_findings: measured on the raw strings -------------------------------------------
def sample_texts(n=300, lengths=(5, 30), seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)]
    return np.array([" ".join(rng.choice(words, rng.integers(*lengths))) for _ in range(n)])


def test_text_findings_on_a_small_vocabulary_and_a_short_length():
    texts = sample_texts()
    vectorize = L.TextVectorization(max_tokens=20, output_sequence_length=10)
    vectorize.adapt(texts)
    found = {f.code: f for f in text_findings(vectorize, texts)}
    assert set(found) == {"mostly_oov", "truncated_sequences"}
    ids = vectorize(texts)
    counts = np.array([len(t.split()) for t in texts])
    real = np.concatenate([ids[i, :min(k, 10)] for i, k in enumerate(counts)])
    # The share counts every token, also those beyond the cut that `ids` no longer holds.
    assert abs(found["mostly_oov"].details["oov_share"] - (real == 1).mean()) < 0.05
    assert "max_tokens=20" in found["mostly_oov"].message
    cut = (counts > 10).mean()
    assert found["truncated_sequences"].details["cut_share"] == pytest.approx(cut)
    assert f"{cut:.0%} of 300 sample texts" in found["truncated_sequences"].message
    assert f"(e.g. {int(np.percentile(counts, 90))}" in found["truncated_sequences"].message


def test_text_findings_on_a_vectorizer_that_fits_its_texts():
    texts = sample_texts()
    vectorize = L.TextVectorization(output_sequence_length=40)
    vectorize.adapt(texts)
    assert text_findings(vectorize, texts) == []
    assert text_findings(vectorize, texts[:, None]) == []


def test_text_findings_see_a_different_standardization_and_a_missing_adapt():
    texts = sample_texts()
    vectorize = L.TextVectorization(standardize=None, output_sequence_length=40)
    vectorize.adapt(texts)
    found = text_findings(vectorize, np.char.upper(texts))      # adapted on lower case
    assert [f.code for f in found] == ["mostly_oov"]
    assert found[0].details["oov_share"] == 1.0 and "W" in found[0].message
    fresh = L.TextVectorization(output_sequence_length=40)
    [finding] = text_findings(fresh, texts)
    assert finding.code == "mostly_oov" and "has no vocabulary yet" in finding.message


@pytest.mark.parametrize("masks", [False, True], ids=["unmasked", "own_mask"])
@pytest.mark.parametrize("functional", [False, True], ids=["Sequential", "Functional"])
def test_a_users_token_and_position_embedding(masks, functional):
    class TokenAndPosition(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.tokens, self.positions = L.Embedding(50, 8), L.Embedding(20, 8)

        def call(self, ids):
            return self.tokens(ids) + self.positions(keras.ops.arange(20))

    class MaskedTokenAndPosition(TokenAndPosition):
        def compute_mask(self, ids, mask=None):
            return keras.ops.not_equal(ids, 0)

    x, y = token_ids()
    keras.utils.set_random_seed(0)
    embed = (MaskedTokenAndPosition if masks else TokenAndPosition)()
    if functional:
        inputs = keras.Input((20,), dtype="int32")
        h = embed(inputs)
        h = L.MultiHeadAttention(2, 4)(h, h)
        model = keras.Model(inputs, L.Dense(1, activation="sigmoid")(L.GlobalMaxPooling1D()(h)))
    else:
        model = keras.Sequential([keras.Input((20,), dtype="int32"), embed, L.LSTM(4),
                                  L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    found, _ = fit_codes(model, x, y, epochs=0)
    assert set(found) == (set() if masks else {"padding_without_mask"})
