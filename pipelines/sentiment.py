"""Sentiment classification (many-to-one): raw sentence in, label and probabilities out.

Setup -> Config -> Data -> Build -> Train -> Export -> Evaluate, top to bottom.

    from pipelines import sentiment
    config = sentiment.SentimentConfig(cell="gru", epochs=5)
    export_dir = sentiment.train(config, "data/sentiment/train.tsv", "data/sentiment/valid.tsv",
                                 "saved_models/sentiment")
    print(sentiment.evaluate(export_dir, "data/sentiment/valid.tsv"))
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqtasks import config as config_lib
from seqtasks.config import RecurrentConfig, TextConfig, TrainConfig, choice, option
from seqtasks.data.labelled import LabelledText, check_known_labels, read_labelled
from seqtasks.data.pipeline import sequence_dataset
from seqtasks.training.distributed import join_cluster
from seqtasks.errors import DataError
from seqtasks.export.savedmodel import export_savedmodel
from seqtasks.layers.pooling import AttentionPooling, MaskedMaxPooling
from seqtasks.layers.recurrent import recurrent_stack
from seqtasks.evaluation.metrics import classification_metrics
from seqtasks.evaluation.plots import confusion_matrix_png, learning_curves_png
from seqtasks.training.run_dir import RunDir
from seqtasks.text import Vocabulary
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.tokenizers import tokenize_to_python
from seqtasks.training.fit import fit, make_optimizer

TASK = "sentiment"
POOLINGS = ("last", "max", "attention")


# --- Config ------------------------------------------------------------------------------------

@dataclasses.dataclass
class SentimentConfig(TrainConfig, RecurrentConfig, TextConfig):
    pooling: str = choice("max", POOLINGS, "sentence vector: final state, max or attention pooling")
    text_column: str = option("text", "column holding the sentence")
    label_column: str = option("label", "column holding the label")


CONFIG = SentimentConfig


def format_metrics(metrics: dict) -> str:
    """Human-readable evaluation summary for the CLI."""
    lines = [f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
             f"n {metrics['n']}", "", f"{'label':<16}{'precision':>10}{'recall':>10}{'f1':>10}"
             f"{'support':>10}"]
    for label, row in metrics["per_class"].items():
        lines.append(f"{label:<16}{row['precision']:>10.4f}{row['recall']:>10.4f}"
                     f"{row['f1-score']:>10.4f}{int(row['support']):>10}")
    matrix = metrics["confusion_matrix"]
    lines += ["", "confusion matrix (rows gold, columns predicted): " + " ".join(matrix["labels"])]
    lines += ["  " + " ".join(f"{c:>6}" for c in row) for row in matrix["matrix"]]
    return "\n".join(lines)


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class TaskData:
    train: LabelledText
    valid: LabelledText
    labels: list[str]
    encoder: TextEncoder


def load_data(config: SentimentConfig, train_path, valid_path, run: RunDir | None = None,
              resumed: bool = False) -> TaskData:
    """Read both splits; build (or, when resuming, reload) vocabulary and label set."""
    train = read_labelled(train_path, config.text_column, config.label_column)
    valid = read_labelled(valid_path, config.text_column, config.label_column)
    if resumed and run is not None:
        vocabulary = Vocabulary.load(run.path("vocab.txt"))
        labels = json.loads(run.path("labels.json").read_text())
    else:
        labels = sorted(set(train.labels))
        if len(labels) < 2:
            raise DataError(train_path, f"only one label ('{labels[0]}') in the training data",
                            hint="a classifier needs at least two labels")
        tokenizer = TextEncoder(Vocabulary([]), config.level, config.lowercase, 1).tokenizer
        vocabulary = Vocabulary.build(tokenize_to_python(tokenizer, train.texts),
                                      config.min_count, config.max_vocab_size)
        if run is not None:
            vocabulary.save(run.path("vocab.txt"))
            run.path("labels.json").write_text(json.dumps(labels))
    check_known_labels(valid, labels)
    encoder = TextEncoder(vocabulary, config.level, config.lowercase, config.max_length)
    return TaskData(train=train, valid=valid, labels=labels, encoder=encoder)


def datasets(config: SentimentConfig, data: TaskData):
    index = {label: i for i, label in enumerate(data.labels)}

    def make(split: LabelledText, shuffle: bool):
        targets = np.array([index[label] for label in split.labels], dtype=np.int32)
        return sequence_dataset(split.texts, targets, data.encoder, config.batch_size,
                                config.max_length, shuffle, config.seed, config.bucket_by_length)

    return make(data.train, shuffle=True), make(data.valid, shuffle=False)


# --- Build -------------------------------------------------------------------------------------

def build(config: SentimentConfig, vocab_size: int, n_labels: int) -> keras.Model:
    """Token ids [batch, time] -> label probabilities [batch, n_labels]."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=True,
                               name="embedding")(token_ids)
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(x)
    x = recurrent_stack(x, config, return_sequences=config.pooling != "last")
    if config.pooling == "max":
        x = MaskedMaxPooling(name="max_pooling")(x)
    elif config.pooling == "attention":
        x = AttentionPooling(config.units, name="attention_pooling")(x)
    x = keras.layers.Dropout(config.dropout, name="output_dropout")(x)
    probabilities = keras.layers.Dense(n_labels, activation="softmax", name="classifier")(x)
    return keras.Model(token_ids, probabilities, name="sentiment_classifier")


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: keras.Model, encoder: TextEncoder, labels: list[str]) -> dict:
    """``serving_default``: text (tf.string [None]) -> label (tf.string), probabilities."""
    label_names = tf.constant(labels)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def classify(text):
        probabilities = model(encoder.dense(text), training=False)
        label = tf.gather(label_names, tf.argmax(probabilities, axis=-1))
        return {"label": label, "probabilities": probabilities}

    return {"serving_default": classify}


def predict_texts(functions: dict, texts: list[str], batch_size: int = 256) -> tuple[list, np.ndarray]:
    """Labels and probabilities through the serving function (same path as the export)."""
    labels, probabilities = [], []
    for start in range(0, len(texts), batch_size):
        out = functions["serving_default"](tf.constant(texts[start:start + batch_size], tf.string))
        labels += [label.decode("utf-8") for label in out["label"].numpy()]
        probabilities.append(out["probabilities"].numpy())
    return labels, np.concatenate(probabilities) if probabilities else np.zeros((0, 0))


def export(model, encoder: TextEncoder, labels: list[str], config: SentimentConfig, out_dir,
           metrics: dict, training: dict, work_dir: Path) -> Path:
    vocab_path, labels_path = work_dir / "vocab.txt", work_dir / "labels.txt"
    encoder.vocabulary.save(vocab_path)
    labels_path.write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    metadata = {"task": TASK, "config": config_lib.to_dict(config), "labels": labels,
                "vocab_size": len(encoder.vocabulary), "metrics": metrics, "training": training}
    return export_savedmodel(
        out_dir, model, encoder.resources, serving_functions(model, encoder, labels), metadata,
        asset_files={"vocab.txt": vocab_path, "labels.txt": labels_path})


# --- Train -------------------------------------------------------------------------------------

def train(config: SentimentConfig, train_path, valid_path, out_dir, verbose="auto") -> Path:
    """Fit on ``train_path``, early-stop on ``valid_path`` accuracy, export under ``out_dir``.

    Returns the new version directory. An interrupted run resumes when called again with the
    same arguments. With a multi-worker ``TF_CONFIG`` every worker runs this with the same
    arguments; the chief exports to ``out_dir``, the others to a private subdirectory.
    """
    out_dir = join_cluster(out_dir)
    run = RunDir(out_dir)
    resumed = run.start(config)
    keras.utils.set_random_seed(config.seed)
    data = load_data(config, train_path, valid_path, run, resumed)
    train_ds, valid_ds = datasets(config, data)
    model = build(config, len(data.encoder.vocabulary), len(data.labels))
    model.compile(optimizer=make_optimizer(config.optimizer, config.learning_rate, config.clipnorm),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    summary = fit(model, train_ds, valid_ds, config, run.resume, run.logs,
                  monitor="val_accuracy", mode="max", verbose=verbose)
    n_tokens = sum(len(ids) for ids in data.encoder(tf.constant(data.train.texts)).to_list())
    summary["train_tokens_per_second"] = round(
        n_tokens * summary["epochs_run"] / max(summary["train_seconds"], 1e-9), 1)

    functions = serving_functions(model, data.encoder, data.labels)
    predicted, _ = predict_texts(functions, data.valid.texts)
    metrics = classification_metrics(data.valid.labels, predicted, data.labels)
    metrics["data"] = str(valid_path)
    export_dir = export(model, data.encoder, data.labels, config, out_dir, metrics, summary,
                        run.resume)
    confusion_matrix_png(metrics["confusion_matrix"]["matrix"], data.labels,
                         export_dir / "confusion_matrix.png", title=f"{TASK}: {valid_path}")
    learning_curves_png(summary["history"], export_dir / "learning_curves.png")
    run.finish()
    return export_dir


# --- Evaluate ----------------------------------------------------------------------------------

def evaluate(export_dir, data_path, version: int | None = None, plot: str | Path | None = None
             ) -> dict:
    """Accuracy, macro-F1, per-class report and confusion matrix of an export on a labelled file."""
    from seqtasks.inference.load import load

    predictor = load(export_dir, version)
    config = predictor.metadata["config"]
    data = read_labelled(data_path, config["text_column"], config["label_column"])
    check_known_labels(data, predictor.labels)
    start = time.monotonic()
    predicted = [row["label"] for row in predictor.predict(data.texts)]
    metrics = classification_metrics(data.labels, predicted, predictor.labels)
    metrics["predict_seconds"] = round(time.monotonic() - start, 3)
    if plot:
        confusion_matrix_png(metrics["confusion_matrix"]["matrix"], predictor.labels, plot,
                             title=f"{TASK}: {data_path}")
    return metrics


# --- Diagnose ----------------------------------------------------------------------------------

def gradient_probe(export_dir, data_path, batch_size: int = 32):
    """For ``seqtasks diagnose``: the export's architecture, and the first ``batch_size``
    sentences of ``data_path`` with the classification loss."""
    from seqtasks.diagnostics.flow import GradientProbe
    from seqtasks.export.layout import read_metadata

    metadata = read_metadata(export_dir)
    config = config_lib.from_dict(CONFIG, metadata["config"])
    data = read_labelled(data_path, config.text_column, config.label_column)
    check_known_labels(data, metadata["labels"])
    encoder = TextEncoder(Vocabulary.load(Path(export_dir) / "assets" / "vocab.txt"),
                          config.level, config.lowercase, config.max_length)
    ids = encoder.dense(tf.constant(data.texts[:batch_size]))
    index = {label: i for i, label in enumerate(metadata["labels"])}
    targets = np.array([index[label] for label in data.labels[:batch_size]], dtype=np.int32)
    loss = keras.losses.SparseCategoricalCrossentropy()
    return GradientProbe(lambda: build(config, metadata["vocab_size"], len(metadata["labels"])),
                         ids, lambda probabilities: loss(targets, probabilities))
