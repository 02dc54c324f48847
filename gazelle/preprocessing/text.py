"""tf.keras 2's `keras.preprocessing.text`: `Tokenizer`, `tokenizer_from_json`,
`text_to_word_sequence`. [leaf: stdlib, numpy]

Behaviour follows tf.keras 2: words are ranked by count with ties in first-seen order
(a stable sort), index 0 is never a word, an `oov_token` takes index 1, and `num_words`
limits which indices `texts_to_sequences`/`texts_to_matrix` keep (not the index itself).
"""
import collections
import json

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Splits a text into a list of words.

    Args:
        input_text: a string.
        filters: characters to remove (each becomes a separator); default: punctuation
            except `'`, plus tab and newline.
        lower: lowercase the text first (default True).
        split: the separator (default " ").

    Returns:
        The non-empty words, in order.

    ```python
    text_to_word_sequence("Hello, World!")     # ['hello', 'world']
    ```
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate({ord(c): split for c in filters})
    return [w for w in input_text.split(split) if w]


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True,
                  split=" ", analyzer=None):
    """Turns a text into word ids in `[1, n - 1]` by hashing each word (0 is never used).

    Args:
        text: a string.
        n: size of the hashing space.
        hash_function: None (Python's `hash`, which differs between runs unless
            PYTHONHASHSEED is set), "md5" (stable), or a function str -> int.
        filters, lower, split: as `text_to_word_sequence`.
        analyzer: optional function text -> list of words, used instead.

    ```python
    hashing_trick("the cat sat", 100, hash_function="md5")
    ```
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        import hashlib

        def hash_function(word):
            return int(hashlib.md5(word.encode()).hexdigest(), 16)
    words = (text_to_word_sequence(text, filters=filters, lower=lower, split=split)
             if analyzer is None else analyzer(text))
    return [hash_function(w) % (n - 1) + 1 for w in words]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """`hashing_trick` with Python's `hash`: word ids in `[1, n - 1]` (not unique)."""
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower,
                         split=split, analyzer=analyzer)


class Tokenizer:
    """Builds a word index from texts and turns texts into index sequences or matrices.

    Args:
        num_words: keep only the `num_words - 1` most frequent words when converting
            (None: all). The word index itself keeps every word.
        filters: characters removed from the texts (default: punctuation except `'`,
            plus tab and newline).
        lower: lowercase the texts (default True).
        split: the word separator (default " ").
        char_level: treat every character as a token.
        oov_token: if set, it gets index 1 and replaces unknown words in
            `texts_to_sequences` (otherwise unknown words are dropped).
        analyzer: optional function text -> list of tokens, used instead of the
            filters/lower/split rules.

    ```python
    tokenizer = keras.preprocessing.text.Tokenizer(num_words=10000, oov_token="<OOV>")
    tokenizer.fit_on_texts(train_sentences)
    sequences = tokenizer.texts_to_sequences(train_sentences)
    padded = keras.preprocessing.sequence.pad_sequences(sequences, maxlen=100)
    ```
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, analyzer=None, **kwargs):
        if "nb_words" in kwargs:
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Tokenizer: unexpected keyword arguments {sorted(kwargs)}.")
        if num_words is not None and (not isinstance(num_words, int) or num_words < 0):
            raise ValueError("Tokenizer: `num_words` must be None or a non-negative integer. "
                             f"Received: num_words={num_words!r}")
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}
        self.analyzer = analyzer

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer: expected texts (str) or lists of tokens, received "
                            f"{type(text).__name__}: {text!r}")
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Updates the word counts and the word index from `texts`.

        Args:
            texts: a list (or generator) of strings, or of lists of tokens.
        """
        if isinstance(texts, str):
            raise TypeError("Tokenizer.fit_on_texts: `texts` must be a list of strings, not "
                            "one string (wrap it in a list).")
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for w in tokens:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(tokens):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda kv: kv[1], reverse=True)
        words = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(words, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, count in self.word_docs.items():
            self.index_docs[self.word_index[w]] = count

    def fit_on_sequences(self, sequences):
        """Updates the document counts from index sequences (for `sequences_to_matrix`)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def _keep(self, index):
        return not self.num_words or index < self.num_words

    def texts_to_sequences(self, texts):
        """Turns each text into a list of word indices (see `num_words`, `oov_token`)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Yields the index sequence of each text in `texts`."""
        oov = self.word_index.get(self.oov_token)
        for text in texts:
            seq = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and self._keep(i):
                    seq.append(i)
                elif oov is not None:
                    seq.append(oov)
            yield seq

    def sequences_to_texts(self, sequences):
        """Turns index sequences back into space-joined texts."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Yields the text of each index sequence."""
        oov = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for i in seq:
                word = self.index_word.get(i)
                if word is not None and self._keep(i):
                    words.append(word)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        """A `(len(texts), num_words)` matrix: "binary", "count", "freq" or "tfidf"."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A `(len(sequences), num_words)` matrix of the index sequences.

        Args:
            sequences: lists of word indices.
            mode: "binary" (default), "count", "freq" (count / length) or "tfidf"
                ((1 + log count) * log(1 + documents / (1 + documents with the word))).
        """
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError("Tokenizer: `mode` must be 'binary', 'count', 'freq' or 'tfidf'. "
                             f"Received: mode={mode!r}")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError("Tokenizer: pass `num_words` or call `fit_on_texts` before "
                             "building a matrix.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: fit the tokenizer on data before using mode='tfidf'.")
        x = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            if not seq:
                continue
            counts = collections.Counter(j for j in seq if j < width)
            for j, c in counts.items():
                if mode == "count":
                    x[row, j] = c
                elif mode == "freq":
                    x[row, j] = c / len(seq)
                elif mode == "binary":
                    x[row, j] = 1
                else:
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[row, j] = (1 + np.log(c)) * idf
        return x

    def get_config(self):
        """The tokenizer's settings and counts; the dictionaries as JSON strings."""
        return {
            "num_words": self.num_words, "filters": self.filters, "lower": self.lower,
            "split": self.split, "char_level": self.char_level, "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """A JSON string of the tokenizer (read it back with `tokenizer_from_json`)."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


def tokenizer_from_json(json_string):
    """Rebuilds a `Tokenizer` from the JSON string that `Tokenizer.to_json()` wrote."""
    data = json.loads(json_string)
    config = dict(data.get("config") or {})
    try:
        word_counts = json.loads(config.pop("word_counts"))
        word_docs = json.loads(config.pop("word_docs"))
        index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
        index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
        word_index = json.loads(config.pop("word_index"))
    except KeyError as e:
        raise ValueError(f"tokenizer_from_json: the JSON lacks {e.args[0]!r}; expected the "
                         "output of Tokenizer.to_json().") from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = collections.OrderedDict(word_counts)
    tokenizer.word_docs = collections.defaultdict(int, word_docs)
    tokenizer.index_docs = collections.defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
