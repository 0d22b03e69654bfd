"""The config dataclass of every task: the keys ``--set``, ``--config`` files and recipes set.

One module, free of TensorFlow, so that ``seqtasks config TASK`` answers at once and a config can
be built and checked before Keras loads. Each pipeline module (``pipelines.sentiment``, ...) imports
its class from here and keeps it under its own name (``sentiment.SentimentConfig``).
"""

from __future__ import annotations

import dataclasses

from seqtasks.config import (CELLS, PretrainedConfig, PretrainedPairConfig, RecurrentConfig,
                             TextConfig, TrainConfig, choice, option, probability, size)
from seqtasks.models.seq2seq_config import (ATTENTION_CHOICES, BeamConfig, DecodingConfig,
                                            ScheduledSamplingConfig, Seq2SeqConfig)

# Choices whose implementations live in modules that import TensorFlow; tests/pipelines/
# test_configs.py keeps each equal to the names those modules accept.
POOLINGS = ("last", "max", "attention")  # pipelines.sentiment
CHAR_ENCODERS = ("cnn", "lstm")  # seqtasks.layers.char_features.CHAR_ENCODERS
INVALID_TAG_POLICIES = ("repair", "error")  # seqtasks.data.conll.INVALID_TAG_POLICIES
WORD_SPLIT_NAMES = ("whitespace", "punctuation")  # pipelines.language_model.WORD_SPLITS


# --- Sentiment ---------------------------------------------------------------------------------

@dataclasses.dataclass
class SentimentConfig(TrainConfig, RecurrentConfig, TextConfig, PretrainedConfig):
    # Shared keys, with the defaults of the SST-2 recipe (recipes/sst2.yaml):
    dropout: float = probability(0.7, "dropout on embeddings, between layers and before the output")
    min_count: int = size(2, "tokens seen fewer times become [UNK] (so [UNK] is trained)")
    max_vocab_size: int = size(50_000, "tokens kept: the training tokens, then the most "
                                       "frequent pretrained words (embeddings), up to this many")
    epochs: int = size(50, "maximum passes over the training data")
    early_stopping_patience: int = option(4, "epochs without a better validation accuracy "
                                             "before stopping")
    # Sentiment knobs:
    pooling: str = choice("max", POOLINGS,
                          "sentence vector: final state, max or attention pooling")
    text_column: str = option("text", "column holding the sentence")
    label_column: str = option("label", "column holding the label")
    ensemble: int = size(1, "models trained side by side (each its own initial weights) and "
                            "exported as one, answering the average of their probabilities; "
                            "training and serving time grow with it", maximum=16)


# --- Named-entity recognition --------------------------------------------------------------------

@dataclasses.dataclass
class NerConfig(TrainConfig, RecurrentConfig, TextConfig, PretrainedConfig):
    # Shared keys, with defaults that suit NER (bench/ner.py on CoNLL-2003):
    dropout: float = probability(0.5, "dropout on the token features and between layers")
    epochs: int = size(50, "maximum passes over the training data")
    early_stopping_patience: int = option(5, "epochs without a better validation entity F1 "
                                             "before stopping")
    max_vocab_size: int = size(100_000, "words kept: the training words, then the most "
                                        "frequent pretrained ones (embeddings), up to this many")
    max_length: int = size(128, "training sentences are cut to this many tokens "
                                  "(prediction tags every token)")
    # NER knobs:
    output: str = choice("crf", ("crf", "softmax"),
                         "linear-chain CRF (Viterbi) or per-token softmax")
    char_features: str = choice("cnn", (*CHAR_ENCODERS, "none"), "character features of each word")
    char_embedding_dim: int = size(25, "size of the character embeddings")
    char_units: int = size(50, "character CNN filters, or LSTM units per direction")
    casing_dim: int = option(8, "size of the casing-class embedding (0: no casing features)")
    word_dropout: float = probability(0.05, "training replaces this share of words by [UNK]")
    digits_to_zero: bool = option(True, "word embeddings read every digit as 0")
    max_word_length: int = size(25, "characters of a word seen by the character features")
    scheme: str = choice("iobes", ("iob2", "iobes"), "tag scheme the model predicts")
    file_scheme: str = choice("auto", ("auto", "iob1", "iob2", "iobes"), "tag scheme of the files")
    invalid_tags: str = choice("repair", INVALID_TAG_POLICIES,
                               "tags breaking the file's scheme: repair them, or stop with an "
                               "error")
    token_column: int = option(0, "column holding the token (0-based)")
    tag_column: int = option(-1, "column holding the tag (-1: the last)")


# --- Language model ------------------------------------------------------------------------------

@dataclasses.dataclass
class LanguageModelConfig(TrainConfig, RecurrentConfig, TextConfig, PretrainedConfig):
    lowercase: bool = option(False, "case-fold before tokenizing")
    max_length: int = size(200, "tokens a sample generates at most, unless asked otherwise")
    bidirectional: bool = option(False, "must stay false: a language model reads left to right")
    embedding_dim: int = size(256, "size of the token embeddings")
    units: int = size(256, "hidden units per layer")
    num_layers: int = size(2, "stacked recurrent layers")
    dropout: float = probability(0.3, "dropout on embeddings, between layers and before the output")
    word_split: str = choice("whitespace", WORD_SPLIT_NAMES, "word level: split at whitespace only "
                             "(tokenized corpora such as PTB) or at punctuation too")
    unknown_word: str = option("<unk>", "word level: the data's unknown-word marker, read as "
                               "[UNK] (empty: none)")
    eos_at_line_end: bool = option(True, "each line is [BOS] tokens [EOS] and generation stops "
                                   "at [EOS]; false: running text (characters keep newlines)")
    bptt_steps: int = size(35, "k2: window length, the positions gradients flow back over")
    bptt_stride: int | None = size(None, "k1: positions a window advances, <= bptt_steps "
                                     "(none: bptt_steps, windows do not overlap)")
    direction: str = choice("forward", ("forward", "backward"), "read each line left to right, "
                            "or right to left (a backward LM: with a forward one it initialises "
                            "a bidirectional encoder, init_from=FORWARD,BACKWARD)")
    tie_embeddings: bool = option(True, "output projection = input embedding matrix (a linear "
                                  "projection bridges units != embedding_dim)")

    @property
    def stride(self) -> int:
        return self.bptt_steps if self.bptt_stride is None else self.bptt_stride


# --- Translation ---------------------------------------------------------------------------------

@dataclasses.dataclass
class TranslationConfig(TrainConfig, DecodingConfig, ScheduledSamplingConfig, Seq2SeqConfig,
                        TextConfig, PretrainedPairConfig):
    level: str = choice("wordpiece", ("wordpiece", "word"), "WordPiece subwords or words")
    lowercase: bool = option(False, "case-fold both languages (BLEU is then case-insensitive)")
    max_vocab_size: int = size(6000, "vocabulary size of each language")
    max_length: int = size(64, "tokens kept per sentence; outputs stop there too")
    max_words: int | None = size(50, "skip training pairs with more words on either side")
    embedding_dim: int = size(256, "size of the token embeddings")
    cell: str = choice("gru", CELLS, "recurrent cell of encoder and decoder")
    units: int = size(128, "encoder units per direction and layer (the decoder is twice as "
                             "wide when bidirectional, see decoder_units)")
    dropout: float = probability(0.2, "dropout on embeddings, between layers and before the output")
    batch_size: int = size(64, "sentence pairs per batch")


# --- Autoencoder ---------------------------------------------------------------------------------

@dataclasses.dataclass
class AutoencoderConfig(TranslationConfig):
    attention: str = choice("none", ("none",), "none: an autoencoder with attention could copy "
                            "its input without compressing it into the embedding")
    cell: str = choice("lstm", CELLS, "recurrent cell of encoder and decoder")
    beam_size: int = size(1, "hypotheses kept by beam search in reconstructions (1: greedy)")


# --- Image captioning ----------------------------------------------------------------------------

@dataclasses.dataclass
class CaptionConfig(TrainConfig, BeamConfig, ScheduledSamplingConfig):
    # Image size and CNN fit the bundled digit-reading set; raise both for real photographs.
    image_height: int = size(20, "images are resized to this height (pixels)")
    image_width: int = size(56, "images are resized to this width (pixels)")
    filters: str = option("32,64", "CNN widths, comma-separated: one conv block and one 2x2 "
                                   "pooling each, so 2 blocks give an H/4 x W/4 grid")
    position_embedding: bool = option(True, "add a learned vector per grid cell to the memory")
    global_context: str = choice("none", ("none", "max", "mean"), "start the decoder from the "
                                 "grid's max- or mean-pooled vector (none: a learned constant; "
                                 "attention=none needs one)")
    embedding_dim: int = size(64, "size of the word embeddings")
    cell: str = choice("gru", CELLS, "recurrent cell of the decoder")
    units: int = size(256, "decoder units")
    attention: str = choice("bahdanau", ATTENTION_CHOICES, "decoder attention over the grid "
                            "(none: the decoder sees only the global context vector)")
    attention_units: int = size(128, "hidden units of Bahdanau's scoring layer")
    attention_penalty: float = option(0.0, "weight of the doubly stochastic attention penalty "
                                           "(every grid cell attended about once; 0: off)")
    dropout: float = probability(0.1, "dropout on the grid, the word embeddings and the output")
    label_smoothing: float = probability(0.0, "target probability spread over the whole vocabulary")
    lowercase: bool = option(True, "case-fold captions")
    max_vocab_size: int = size(10000, "caption vocabulary size")
    min_count: int = size(1, "words seen fewer times become [UNK]")
    max_length: int = size(32, "caption words kept in training; generated captions stop there")
    export_attention: bool = option(False, "serving_default also returns the attention maps")
    batch_size: int = size(64, "images per batch")
    epochs: int = size(30, "maximum passes over the training data")
    learning_rate: float = option(3e-3, "initial learning rate")
    beam_size: int = size(3, "hypotheses kept by beam search (1: greedy decoding)")
    length_penalty: float = option(0.0, "GNMT length-penalty alpha when ranking beams (0: none)")


# The config class of each task, by the task names of ``pipelines.TASKS``.
CONFIGS = {"sentiment": SentimentConfig, "ner": NerConfig, "lm": LanguageModelConfig,
           "translate": TranslationConfig, "autoencoder": AutoencoderConfig,
           "caption": CaptionConfig}
