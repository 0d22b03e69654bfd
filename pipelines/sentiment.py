"""Sentiment classification (many-to-one): raw sentence in, label and probabilities out.

Config -> Data -> Build -> Export -> Evaluate, top to bottom; ``seqtasks.training.lifecycle``
runs the training (resume, time budget, early stopping, export, figures).

    from pipelines import sentiment
    config = sentiment.SentimentConfig(cell="gru", epochs=5)
    export_dir = sentiment.train(config, "data/sentiment/train.tsv", "data/sentiment/valid.tsv",
                                 "saved_models/sentiment")
    print(sentiment.evaluate(export_dir, "data/sentiment/valid.tsv"))
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipelines.configs import POOLINGS, SentimentConfig  # noqa: F401 (kept public here)
from seqtasks import config as config_lib
from seqtasks.export import kinds
from seqtasks.data import in_memory
from seqtasks.data.labelled import LabelledText, check_known_labels, read_labelled
from seqtasks.data.batching import sequence_dataset
from seqtasks.errors import ConfigError, DataError
from seqtasks.evaluation.metrics import classification_metrics
from seqtasks.evaluation.plots import confusion_matrix_png
from seqtasks.layers.pooling import AttentionPooling, MaskedMaxPooling
from seqtasks.layers.recurrent import recurrent_stack
from seqtasks.models import ensemble
from seqtasks.task import Built, ExportAssets, Prepared, Splits, Task
from seqtasks.text import Vocabulary, pretrained
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.tokenizers import tokenize_to_python
from seqtasks.text.vocab import unknown_share
from seqtasks import transfer
from seqtasks.training import lifecycle



# --- Config ------------------------------------------------------------------------------------

# The config dataclass lives in pipelines/configs.py (no TensorFlow there).


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class SentimentData:
    train: LabelledText
    valid: LabelledText
    labels: list[str]
    encoder: TextEncoder
    # pretrained vectors or LM encoders (none by default)
    transfer: transfer.Transfer = dataclasses.field(default_factory=transfer.Transfer)


def read(config: SentimentConfig, path) -> LabelledText:
    return read_labelled(path, config.text_column, config.label_column)


def make_vocabulary(config: SentimentConfig, texts: list[str], run
                    ) -> tuple[Vocabulary, transfer.Transfer]:
    """Training tokens seen ``min_count`` times, plus pretrained words (``embeddings``); or the
    LM's vocabulary plus the new training words (``init_from``)."""
    tokenizer = TextEncoder(Vocabulary([]), config.level, config.lowercase, 1).tokenizer
    tokens = tokenize_to_python(tokenizer, texts)
    return transfer.prepare(
        config, tokens, lambda: Vocabulary.build(tokens, config.min_count, config.max_vocab_size),
        pretrained.normalised_forms(config.lowercase), run, config.embeddings,
        init_from=config.init_from)


# --- Build -------------------------------------------------------------------------------------

def build(config: SentimentConfig, vocab_size: int, n_labels: int) -> keras.Model:
    """Token ids [batch, time] -> label probabilities [batch, n_labels]; with ``ensemble`` > 1
    the members' probabilities stacked, [batch, ensemble, n_labels] (``ensemble.average``
    gives the answer)."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")

    def classifier(prefix: str = ""):
        x = keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=True,
                                   name=f"{prefix}embedding")(token_ids)
        x = keras.layers.Dropout(config.dropout, name=f"{prefix}embedding_dropout")(x)
        x = recurrent_stack(x, config, return_sequences=config.pooling != "last",
                            name=f"{prefix}encoder")
        if config.pooling == "max":
            x = MaskedMaxPooling(name=f"{prefix}max_pooling")(x)
        elif config.pooling == "attention":
            x = AttentionPooling(config.units, name=f"{prefix}attention_pooling")(x)
        x = keras.layers.Dropout(config.dropout, name=f"{prefix}output_dropout")(x)
        return keras.layers.Dense(n_labels, activation="softmax", name=f"{prefix}classifier")(x)

    probabilities = classifier() if config.ensemble == 1 \
        else ensemble.stacked_members(classifier, config.ensemble)
    return keras.Model(token_ids, probabilities, name="sentiment_classifier")


def loss(config: SentimentConfig):
    return "sparse_categorical_crossentropy" if config.ensemble == 1 \
        else ensemble.MemberCrossentropy()


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: keras.Model, encoder: TextEncoder, labels: list[str]) -> dict:
    """``serving_default``: text (tf.string [None]) -> label (tf.string), probabilities."""
    label_names = tf.constant(labels)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def classify(text):
        probabilities = ensemble.average(model(encoder.dense(text), training=False))
        label = tf.gather(label_names, tf.argmax(probabilities, axis=-1))
        return {"label": label, "probabilities": probabilities}

    return {"serving_default": classify}


def predict_labels(classify, texts: list[str], batch_size: int = 256) -> list[str]:
    """Labels through the serving function (the path the export takes)."""
    labels = []
    for start in range(0, len(texts), batch_size):
        out = classify(tf.constant(texts[start:start + batch_size], tf.string))
        labels += [label.decode("utf-8") for label in out["label"].numpy()]
    return labels


# --- The task ----------------------------------------------------------------------------------

class Sentiment(transfer.TransferTask, Task[SentimentConfig, SentimentData]):
    name = "sentiment"
    kind = kinds.CLASSIFIER
    main_score = ("accuracy", "max")
    config_class = SentimentConfig
    monitor = ("val_accuracy", "max")
    multi_worker = True
    evaluation_plot = "confusion matrix"

    def read(self, config, train_path, valid_path) -> Splits:
        return Splits(read(config, train_path), read(config, valid_path))

    def merged_splits(self, splits) -> Splits:
        """``refit=true``: train + valid to train on, valid as it is."""
        return Splits(splits.train.joined(splits.valid), splits.valid)

    def write_examples(self, config, examples, directory, split):
        """``(text, label)`` pairs or a DataFrame with the config's text and label columns."""
        return in_memory.labelled_table(examples, directory, split, config.text_column,
                                        config.label_column)

    def prepare(self, config, splits, run) -> Prepared:
        """Vocabulary (with pretrained parts) and label set from the training split."""
        labels = sorted(set(splits.train.labels))
        if len(labels) < 2:
            raise DataError(splits.train.path, f"only one label ('{labels[0]}') in the "
                            "training data", hint="a classifier needs at least two labels")
        vocabulary, parts = make_vocabulary(config, splits.train.texts, run)
        return {"vocab": vocabulary, "labels": labels, "embeddings": parts}

    def data(self, config, splits, prepared, run) -> SentimentData:
        check_known_labels(splits.valid, prepared["labels"])
        encoder = TextEncoder(prepared["vocab"], config.level, config.lowercase,
                              config.max_length)
        return SentimentData(splits.train, splits.valid, prepared["labels"], encoder,
                             prepared["embeddings"])

    def datasets(self, config, data):
        index = {label: i for i, label in enumerate(data.labels)}

        def make(split: LabelledText, shuffle: bool):
            targets = np.array([index[label] for label in split.labels], dtype=np.int32)
            return sequence_dataset(split.texts, targets, data.encoder, config.batch_size,
                                    config.max_length, shuffle, config.seed,
                                    config.bucket_by_length)

        return make(data.train, shuffle=True), make(data.valid, shuffle=False)

    def training_units(self, config, data) -> int:
        return int(data.encoder(tf.constant(data.train.texts)).row_lengths().numpy().sum())

    def validation_unknown_share(self, config, data) -> float:
        return unknown_share(data.encoder(tf.constant(data.valid.texts)))

    def check(self, config) -> None:
        if config.ensemble > 1 and config.init_from:
            raise ConfigError("init_from starts one model from language models; it cannot "
                              "start an ensemble: set ensemble=1, or drop init_from")

    def build(self, config, data) -> Built:
        model = build(config, len(data.encoder.vocabulary), len(data.labels))
        embeddings = [layer.name for layer in model.layers
                      if isinstance(layer, keras.layers.Embedding)]  # one per ensemble member
        pretrained = tuple(path for layer in embeddings for path in data.transfer.apply(
            model, config, layer, trainable=config.embeddings_trainable))
        return Built(model, pretrained)

    def compile_options(self, config, model) -> dict:
        return {"loss": loss(config), "metrics": [
            "accuracy" if config.ensemble == 1 else ensemble.accuracy_metric()]}

    def signatures(self, config, model, data) -> dict:
        return serving_functions(model, data.encoder, data.labels)

    def validation_metrics(self, config, data, signatures) -> dict:
        predicted = predict_labels(signatures["serving_default"], data.valid.texts)
        return classification_metrics(data.valid.labels, predicted, data.labels)

    def export_assets(self, config, model, data, work_dir) -> ExportAssets:
        files = {"vocab.txt": work_dir / "vocab.txt", "labels.txt": work_dir / "labels.txt"}
        data.encoder.vocabulary.save(files["vocab.txt"])
        files["labels.txt"].write_text("".join(f"{label}\n" for label in data.labels),
                                       encoding="utf-8")
        return ExportAssets(data.encoder.resources, files,
                            {"labels": data.labels, "vocab_size": len(data.encoder.vocabulary)})

    def figures(self, config, data, metrics, export_dir) -> None:
        confusion_matrix_png(metrics["confusion_matrix"]["matrix"], data.labels,
                             export_dir / "confusion_matrix.png",
                             title=f"{self.name}: {metrics['data']}")

    def score(self, predictor, data_path, plot) -> dict:
        """Accuracy, macro-F1, per-class report and confusion matrix on a labelled file."""
        config = predictor.metadata["config"]
        data = read_labelled(data_path, config["text_column"], config["label_column"])
        check_known_labels(data, predictor.labels)
        start = time.monotonic()
        predicted = [row["label"] for row in predictor.predict(data.texts)]
        metrics = classification_metrics(data.labels, predicted, predictor.labels)
        metrics["predict_seconds"] = round(time.monotonic() - start, 3)
        if plot:
            confusion_matrix_png(metrics["confusion_matrix"]["matrix"], predictor.labels, plot,
                                 title=f"{self.name}: {data_path}")
        return metrics

    def format_metrics(self, metrics: dict) -> str:
        lines = [f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
                 f"n {metrics['n']}", "", f"{'label':<16}{'precision':>10}{'recall':>10}"
                 f"{'f1':>10}{'support':>10}"]
        for label, row in metrics["per_class"].items():
            lines.append(f"{label:<16}{row['precision']:>10.4f}{row['recall']:>10.4f}"
                         f"{row['f1-score']:>10.4f}{int(row['support']):>10}")
        matrix = metrics["confusion_matrix"]
        lines += ["", "confusion matrix (rows gold, columns predicted): "
                  + " ".join(matrix["labels"])]
        lines += ["  " + " ".join(f"{c:>6}" for c in row) for row in matrix["matrix"]]
        return "\n".join(lines)

    def gradient_probe(self, export_dir, data_path, batch_size: int = 32):
        """For ``seqtasks diagnose``: the export's architecture, and the first ``batch_size``
        sentences of ``data_path`` with the classification loss."""
        from seqtasks.diagnostics.flow import GradientProbe
        from seqtasks.export.layout import read_metadata

        metadata = read_metadata(export_dir)
        config = config_lib.from_dict(SentimentConfig, metadata["config"])
        data = read(config, data_path)
        check_known_labels(data, metadata["labels"])
        encoder = TextEncoder(Vocabulary.load(Path(export_dir) / "assets" / "vocab.txt"),
                              config.level, config.lowercase, config.max_length)
        ids = encoder.dense(tf.constant(data.texts[:batch_size]))
        index = {label: i for i, label in enumerate(metadata["labels"])}
        targets = np.array([index[label] for label in data.labels[:batch_size]], dtype=np.int32)
        loss_function = keras.losses.get(loss(config))
        return GradientProbe(
            lambda: build(config, metadata["vocab_size"], len(metadata["labels"])), ids,
            lambda probabilities: keras.ops.mean(loss_function(targets, probabilities)))


TASK = Sentiment()
train = functools.partial(lifecycle.train, TASK)  # train(config, train, valid, out_dir)
evaluate = TASK.evaluate  # evaluate(export_dir, data)
