"""Named-entity recognition (many-to-many): CoNLL columns in, tags and entity spans out.

Config -> Data -> Build -> Export -> the Task, top to bottom; ``seqtasks.training.lifecycle``
runs the training. The model is the
BiLSTM-CRF of Lample et al. (2016) / Ma & Hovy (2016): word embeddings + character features of
each word (CNN or BiLSTM) + casing classes -> stacked BiLSTM -> softmax or linear-chain CRF.

    from pipelines import ner
    config = ner.NerConfig(epochs=5)
    export_dir = ner.train(config, "data/ner/train.txt", "data/ner/valid.txt", "saved_models/ner")
    print(ner.evaluate(export_dir, "data/ner/valid.txt"))
"""

from __future__ import annotations

import dataclasses
import functools
import sys

import keras
import tensorflow as tf

from pipelines.configs import NerConfig
from seqtasks import config as config_lib
from seqtasks.export import kinds
from seqtasks.inference.predictors.tagger import tag_sentences
from seqtasks.data.conll import (TaggedSentences, check_known_tags,
                                  read_conll, tag_set)
from seqtasks.data import in_memory
from seqtasks.data.batching import tagged_dataset
from seqtasks.errors import ConfigError
from seqtasks.io import atomic_write_text
from seqtasks.layers.char_features import CharFeatures
from seqtasks.layers.crf import CRF
from seqtasks.layers.recurrent import recurrent_stack
from seqtasks.layers.word_dropout import WordDropout
from seqtasks.evaluation.metrics import classification_metrics, entity_metrics
from seqtasks.evaluation.plots import confusion_matrix_png
from seqtasks.task import Built, ExportAssets, Prepared, Splits, Task
from seqtasks.text.tag_schemes import OUTSIDE, allowed_transitions, split_tag
from seqtasks.text import WordTokenizer, pretrained
from seqtasks.text.casing import CASING_CLASSES
from seqtasks.text.spans import EntityDecoder, entities_in_text
from seqtasks.text.token_features import TokenFeatures, build_vocabularies
from seqtasks.text.tokenizers import sanitize
from seqtasks.text.vocab import unknown_share
from seqtasks.training.callbacks import EpochScore
from seqtasks import transfer
from seqtasks.training import lifecycle

MONITOR = "val_entity_f1"


# --- Config ------------------------------------------------------------------------------------

# The config dataclass lives in pipelines/configs.py (no TensorFlow there).


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class NerData:
    train: TaggedSentences
    valid: TaggedSentences
    tags: list[str]
    features: TokenFeatures
    # pretrained vectors or LM encoders (none by default)
    transfer: transfer.Transfer = dataclasses.field(default_factory=transfer.Transfer)


def read(config: NerConfig, path) -> TaggedSentences:
    """A CoNLL file with the config's columns, tags converted to the model's scheme."""
    return read_conll(path, config.token_column, config.tag_column, config.file_scheme,
                      config.scheme, config.invalid_tags)


# --- Build -------------------------------------------------------------------------------------

def build(config: NerConfig, n_words: int, n_chars: int, tags: list[str]) -> keras.Model:
    """Word, char and casing ids -> tag probabilities (softmax) or CRF potentials, per token."""
    inputs = {"char_ids": keras.Input(shape=(None, None), dtype="int32", name="char_ids"),
              "casing_ids": keras.Input(shape=(None,), dtype="int32", name="casing_ids"),
              "word_ids": keras.Input(shape=(None,), dtype="int32", name="word_ids")}
    word_ids = WordDropout(config.word_dropout, seed=config.seed,
                           name="word_dropout")(inputs["word_ids"])
    parts = [keras.layers.Embedding(n_words, config.embedding_dim, mask_zero=True,
                                    name="word_embedding")(word_ids)]
    if config.char_features != "none":
        parts.append(CharFeatures(n_chars, config.char_embedding_dim, config.char_units,
                                  config.char_features, name="char_features")(inputs["char_ids"]))
    if config.casing_dim:
        parts.append(keras.layers.Embedding(len(CASING_CLASSES), config.casing_dim,
                                            name="casing_embedding")(inputs["casing_ids"]))
    x = keras.layers.Concatenate(name="token_features")(parts) if len(parts) > 1 else parts[0]
    x = keras.layers.Dropout(config.dropout, name="feature_dropout")(x)
    x = recurrent_stack(x, config, return_sequences=True)
    x = keras.layers.Dropout(config.dropout, name="output_dropout")(x)
    if config.output == "crf":
        outputs = CRF(len(tags), *allowed_transitions(tags, config.scheme), name="crf")(x)
    else:
        outputs = keras.layers.Dense(len(tags), activation="softmax", name="tag_probabilities")(x)
    return keras.Model(inputs, outputs, name="ner_tagger")


def tag_loss(model: keras.Model, config: NerConfig):
    """Loss over tag ids padded with -1: the CRF's negative log-likelihood, or cross-entropy."""
    if config.output == "crf":
        return model.get_layer("crf").loss
    return keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)


def decode(model: keras.Model, config: NerConfig, features: dict, mask) -> tf.Tensor:
    """Best tag ids [batch, time]: Viterbi through the CRF, or the most probable tag per token."""
    outputs = model(features, training=False)
    if config.output == "crf":
        return model.get_layer("crf").decode(outputs, mask)
    return keras.ops.cast(keras.ops.argmax(outputs, axis=-1), "int32")


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: keras.Model, features: TokenFeatures, tags: list[str],
                      config: NerConfig) -> dict:
    """``serving_default``: text [None] -> tokens, tags (padded with "") and lengths; entities
    (entity_text, entity_type, entity_start, entity_end as character offsets [start, end) into
    the text, padded with "" / -1) and entity_count. ``tag_tokens``: tokens [None, None] (rows
    padded with "") -> tags, lengths."""
    tag_names = tf.constant(tags)
    entity_decoder = EntityDecoder(tags)
    tokenizer = WordTokenizer(lowercase=False)

    def tag_ids(tokens: tf.RaggedTensor) -> tf.RaggedTensor:
        inputs = features(tokens)
        mask = tf.sequence_mask(tokens.row_lengths(), tf.shape(inputs["word_ids"])[1])
        return tf.RaggedTensor.from_tensor(decode(model, config, inputs, mask),
                                           lengths=tokens.row_lengths())

    # autograph=False: no Python control flow on tensors here, and tracing then never re-reads
    # source files (as autograph does).
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")], autograph=False)
    def tag_text(text):
        text = sanitize(text)
        tokens, starts, ends = tokenizer.split_with_offsets(text)
        ids = tag_ids(tokens)
        entities = entities_in_text(text, starts, ends, entity_decoder(ids))
        return {"tokens": tokens.to_tensor(""), "tags": tf.gather(tag_names, ids).to_tensor(""),
                "lengths": tf.cast(tokens.row_lengths(), tf.int32),
                "entity_text": entities["text"].to_tensor(""),
                "entity_type": entities["type"].to_tensor(""),
                "entity_start": tf.cast(entities["start"].to_tensor(-1), tf.int32),
                "entity_end": tf.cast(entities["end"].to_tensor(-1), tf.int32),
                "entity_count": tf.cast(entities["type"].row_lengths(), tf.int32)}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")],
                 autograph=False)
    def tag_tokens(tokens):
        tokens = tf.RaggedTensor.from_tensor(tokens, padding="")
        return {"tags": tf.gather(tag_names, tag_ids(tokens)).to_tensor(""),
                "lengths": tf.cast(tokens.row_lengths(), tf.int32)}

    return {"serving_default": tag_text, "tag_tokens": tag_tokens}


# --- The task ----------------------------------------------------------------------------------

class Ner(transfer.TransferTask, Task[NerConfig, NerData]):
    name = "ner"
    kind = kinds.TAGGER
    main_score = ("f1", "max")
    config_class = NerConfig
    monitor = (MONITOR, "max")
    multi_worker = True
    evaluation_plot = "token-level confusion between entity types"

    def check(self, config) -> None:
        if config.level != "word":
            raise ConfigError(f"ner tags words: level must be 'word', got '{config.level}'")

    def read(self, config, train_path, valid_path) -> Splits:
        return Splits(read(config, train_path), read(config, valid_path))

    def merged_splits(self, splits) -> Splits:
        """``refit=true``: train + valid to train on, valid as it is."""
        return Splits(splits.train.joined(splits.valid), splits.valid)

    def write_examples(self, config, examples, directory, split):
        """``(tokens, tags)`` sentences, tags in the config's ``file_scheme``."""
        return in_memory.tagged_sentences(examples, directory, split, config.token_column,
                                          config.tag_column)

    def prepare(self, config, splits, run) -> Prepared:
        """Word (with pretrained parts) and char vocabularies and the tag set from the training
        split."""
        tags = tag_set(splits.train)
        words, chars = build_vocabularies(splits.train.tokens, config.lowercase,
                                          config.digits_to_zero, config.min_count,
                                          config.max_vocab_size)
        forms = pretrained.normalised_forms(config.lowercase, config.digits_to_zero)
        words, parts = transfer.prepare(
            config, pretrained.sentence_forms(splits.train.tokens, forms), lambda: words,
            forms, run, config.embeddings, init_from=config.init_from)
        return {"words": words, "chars": chars, "tags": tags, "embeddings": parts}

    def data(self, config, splits, prepared, run) -> NerData:
        tags = prepared["tags"]
        check_known_tags(splits.valid, tags)
        for split in (splits.train, splits.valid):
            if split.repair_summary():
                print(f"warning: {split.repair_summary()}", file=sys.stderr)
        features = TokenFeatures(prepared["words"], prepared["chars"], config.lowercase,
                                 config.digits_to_zero, config.max_word_length)
        return NerData(splits.train, splits.valid, tags, features, prepared["embeddings"])

    def datasets(self, config, data):
        index = {tag: i for i, tag in enumerate(data.tags)}

        def make(split: TaggedSentences, shuffle: bool):
            tag_ids = [[index[tag] for tag in tags] for tags in split.tags]
            return tagged_dataset(split.tokens, tag_ids, data.features, config.batch_size,
                                  config.max_length, shuffle, config.seed,
                                  config.bucket_by_length and shuffle)

        return make(data.train, shuffle=True), make(data.valid, shuffle=False)

    def training_units(self, config, data) -> int:
        return sum(min(len(tokens), config.max_length) for tokens in data.train.tokens)

    def validation_unknown_share(self, config, data) -> float:
        return unknown_share(data.features(tf.ragged.constant(data.valid.tokens))["word_ids"])

    def build(self, config, data) -> Built:
        model = build(config, len(data.features.words), len(data.features.chars), data.tags)
        return Built(model, data.transfer.apply(model, config, "word_embedding",
                                                trainable=config.embeddings_trainable))

    def compile_options(self, config, model) -> dict:
        return {"loss": tag_loss(model, config)}

    def signatures(self, config, model, data) -> dict:
        return serving_functions(model, data.features, data.tags, config)

    def callbacks(self, config, model, data, signatures) -> list:
        return [EpochScore(MONITOR, lambda: self.validation_metrics(config, data,
                                                                    signatures)["f1"])]

    def validation_metrics(self, config, data, signatures) -> dict:
        predicted = tag_sentences(signatures["tag_tokens"], data.valid.tokens)
        return entity_metrics(data.valid.tags, predicted, config.scheme)

    def export_assets(self, config, model, data, work_dir) -> ExportAssets:
        files = {"words.txt": work_dir / "words.txt", "chars.txt": work_dir / "chars.txt",
                 "tags.txt": work_dir / "tags.txt"}
        data.features.words.save(files["words.txt"])
        data.features.chars.save(files["chars.txt"])
        atomic_write_text(files["tags.txt"], "".join(f"{tag}\n" for tag in data.tags))
        return ExportAssets(data.features.resources, files, {
            "tags": data.tags, "types": EntityDecoder(data.tags).types,
            "word_vocab_size": len(data.features.words),
            "char_vocab_size": len(data.features.chars),
            "data": {"file_scheme": data.train.file_scheme,
                     "repaired_sentences": data.train.repaired,
                     "repairs": data.train.repairs,
                     "valid_repaired_sentences": data.valid.repaired}})

    def score(self, predictor, data_path, plot) -> dict:
        """Entity P/R/F1 (seqeval, strict), per type, and token accuracy on a CoNLL file.
        ``plot``: a PNG of the token-level confusion between entity types."""
        config = config_lib.from_dict(NerConfig, predictor.metadata["config"])
        data = read(config, data_path)
        predicted = predictor.tag_tokens(data.tokens)
        metrics = entity_metrics(data.tags, predicted, config.scheme)
        if plot:
            def types(sentences):
                return [split_tag(tag)[1] or OUTSIDE for tags in sentences for tag in tags]

            labels = [OUTSIDE, *predictor.metadata["types"]]
            matrix = classification_metrics(types(data.tags), types(predicted), labels)
            confusion_matrix_png(matrix["confusion_matrix"]["matrix"], labels, plot,
                                 title=f"{self.name} token types: {data_path}")
        return metrics

    def format_metrics(self, metrics: dict) -> str:
        lines = [f"entity F1 {metrics['f1']:.4f}  precision {metrics['precision']:.4f}  recall "
                 f"{metrics['recall']:.4f}  token accuracy {metrics['token_accuracy']:.4f}  "
                 f"sentences {metrics['n_sentences']}", "",
                 f"{'type':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
        for name, row in metrics["per_type"].items():
            lines.append(f"{name:<16}{row['precision']:>10.4f}{row['recall']:>10.4f}"
                         f"{row['f1']:>10.4f}{row['support']:>10}")
        return "\n".join(lines)


TASK = Ner()
train = functools.partial(lifecycle.train, TASK)  # train(config, train, valid, out_dir)
evaluate = TASK.evaluate  # evaluate(export_dir, data)
