"""The contract every task pipeline implements, and nothing else: what differs between tasks.

A task is a config class plus data, a model, export signatures and an evaluation. The lifecycle
that runs it (``seqtasks.training.lifecycle``: run directory, resume, seed, saving and reloading
what ``prepare`` made, fit, time budget, throughput, export, plots, training summary) is the same
for every task, so a new task is one file of its own code:

    class Sentiment(Task[SentimentConfig, SentimentData]):
        name, config_class = "sentiment", SentimentConfig
        def read(self, config, train_path, valid_path): ...    # files -> checked Splits
        def prepare(self, config, splits, run): ...            # vocabularies, labels (saved)
        def data(self, config, splits, prepared, run): ...     # -> SentimentData
        def datasets(self, config, data): ...                  # tf.data train / valid
        def training_units(self, config, data): ...            # tokens in one epoch
        def build(self, config, data): ...                     # Built(keras.Model, pretrained)
        def compile_options(self, config, model): ...          # loss (and metrics)
        def signatures(self, config, model, data): ...         # string-in tf.functions
        def validation_metrics(self, config, data, signatures): ...
        def export_assets(self, config, model, data, work_dir): ...  # tables, files, metadata
        def score(self, predictor, data_paths, plot, **options): ...   # evaluate an export

    seqtasks.train(Sentiment(), SentimentConfig(), "train.tsv", "valid.tsv", "saved_models/x")

What only some tasks offer (readable metrics, attention plots, gradient probes, comparison
figures) is not part of this contract: see ``seqtasks.task.capabilities``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from seqtasks.errors import ConfigError, ModelError

ConfigT = TypeVar("ConfigT")  # the task's config dataclass
DataT = TypeVar("DataT")      # what ``data`` returns: the splits with vocabularies, encoders...

# What ``prepare`` learns from the training split, by name: ``seqtasks.text.Vocabulary``,
# ``seqtasks.transfer.Transfer`` or JSON-able values (label lists); the lifecycle saves it in the
# run directory and loads it back when the run resumes (``seqtasks.training.prepared``).
Prepared = dict[str, Any]


@dataclasses.dataclass
class Splits:
    """Training and validation data as read (and checked) from the files."""
    train: Any
    valid: Any


@dataclasses.dataclass
class ExportAssets:
    """What an export needs besides the model: the lookup tables its signatures use, files for
    ``assets/`` (vocabularies, label lists) and task-specific ``seqtasks.json`` entries."""
    resources: list
    files: dict[str, Path]
    metadata: dict


class Built(NamedTuple):
    """What ``Task.build`` returns: the model, and the paths of the variables it initialised from
    pretraining (vectors, ``init_from``): they learn at ``pretrained_lr_scale`` and stay fixed
    for ``freeze_epochs``. A tuple, so ``model, pretrained = task.build(...)`` reads it."""
    model: Any
    pretrained: tuple[str, ...] = ()


class Task(Generic[ConfigT, DataT]):
    """One task: subclass it (``Task[MyConfig, MyData]``), set the class attributes, implement
    the methods that raise ``NotImplementedError``; the others have defaults that suit most
    tasks."""

    name: str = ""                       # the task's name in the CLI and in seqtasks.json
    kind: str | None = None              # what its exports are (seqtasks.export.kinds): after
    #                                      export, code picks a predictor by kind, not by name
    main_score: tuple[str, str] | None = None  # the metric that ranks runs, and which way
    config_class: type = type(None)      # its config dataclass
    monitor: tuple[str, str] = ("val_loss", "min")  # what early stopping watches, and which way
    throughput_unit: str = "tokens"      # what train_<unit>_per_second counts
    multi_worker: bool = False           # trains across the workers of a TF_CONFIG cluster
    train_backends: tuple[str, ...] = ("tensorflow",)  # Keras backends its fit runs on
    evaluation_plot: str | None = None   # what evaluate(plot=PATH) draws; None: nothing

    # --- training: called in this order by seqtasks.training.lifecycle.train ---------------------

    def check(self, config: ConfigT) -> None:
        """Config errors that the config's own checks cannot see, before anything is read."""

    def read(self, config: ConfigT, train_paths, valid_paths, **options) -> Splits:
        """Read and check both splits; bad data fails here, before the run directory exists."""
        raise NotImplementedError

    def is_data_path(self, value) -> bool:
        """Whether a data argument names files (``read`` takes it as it is) rather than holding
        in-memory examples (``write_examples`` writes them first)."""
        from seqtasks.data.in_memory import is_path

        return is_path(value)

    def write_examples(self, config: ConfigT, examples, directory: Path, split: str):
        """In-memory examples in the task's natural form -> the file(s) ``read`` takes, written
        atomically under ``directory`` (``seqtasks.data.in_memory``)."""
        raise ConfigError(f"{self.name} trains from files only: pass the paths of its training "
                          f"and validation files (got {type(examples).__name__} for {split})")

    def prepare(self, config: ConfigT, splits: Splits, run) -> Prepared:
        """What a new run learns from ``splits.train`` (vocabularies, label sets, pretrained
        parts), by name. Called once per run: the lifecycle saves it in ``run`` (a ``RunDir``)
        atomically and hands the saved copy back to ``data`` when the run resumes."""
        raise NotImplementedError

    def data(self, config: ConfigT, splits: Splits, prepared: Prepared, run) -> DataT:
        """The task's data from the splits and what ``prepare`` made (fresh or reloaded): checks
        against it (unknown labels), encoders, files derived in ``run``."""
        raise NotImplementedError

    def datasets(self, config: ConfigT, data: DataT) -> tuple:
        """``(train, valid)`` tf.data datasets of (inputs, targets[, weights]) batches."""
        raise NotImplementedError

    def training_units(self, config: ConfigT, data: DataT) -> int:
        """``throughput_unit``s in one epoch of training data (for train_<unit>_per_second)."""
        raise NotImplementedError

    def build(self, config: ConfigT, data: DataT) -> Built:
        """The model, token ids (or images) in, with the variables pretraining initialised;
        ``trainable(model)`` is what ``fit`` trains."""
        raise NotImplementedError

    def trainable(self, model):
        return model

    def exported(self, model):
        """The Keras model whose variables the export tracks."""
        return self.trainable(model)

    def compile_options(self, config: ConfigT, model) -> dict:
        """``loss`` (and ``metrics`` / ``weighted_metrics``) for ``keras.Model.compile``."""
        raise NotImplementedError

    def learning_rate(self, config: ConfigT, steps_per_epoch: int):
        """A float (training follows it with the config's ``lr_schedule``) or a Keras schedule."""
        return config.learning_rate

    def signatures(self, config: ConfigT, model, data: DataT) -> dict:
        """Export signatures: ``tf.function``s with string input signatures."""
        raise NotImplementedError

    def callbacks(self, config: ConfigT, model, data: DataT, signatures: dict) -> list:
        """Extra Keras callbacks (a validation score for early stopping, scheduled sampling)."""
        return []

    def validation_metrics(self, config: ConfigT, data: DataT, signatures: dict) -> dict:
        """The trained model's metrics on the validation split, through ``signatures``."""
        raise NotImplementedError

    def export_assets(self, config: ConfigT, model, data: DataT, work_dir: Path
                      ) -> ExportAssets:
        raise NotImplementedError

    def warmup_examples(self, config: ConfigT, data: DataT) -> list:
        """A few raw inputs the export's string inputs take (texts here; a captioner's are
        encoded images), for the warmup requests servers replay before a version takes
        traffic (``seqtasks.export.warmup``)."""
        from seqtasks.export.warmup import WARMUP_TEXTS

        return list(WARMUP_TEXTS)

    def validation_unknown_share(self, config: ConfigT, data: DataT) -> float | None:
        """The share of validation tokens the vocabulary maps to [UNK] (None: not applicable)."""
        return None

    def data_summary(self, config: ConfigT, data: DataT) -> dict:
        """Entries for the training summary about the data (pairs read, pairs skipped)."""
        return {}

    def figures(self, config: ConfigT, data: DataT, metrics: dict, export_dir: Path) -> None:
        """Figures saved beside the export besides the learning curves (none by default)."""

    # --- after training --------------------------------------------------------------------------

    def evaluate(self, export_dir, data_paths, version: int | None = None,
                 plot: str | Path | None = None, **options) -> dict:
        """Metrics of an export on a labelled file (JSON-able); ``plot``: a PNG path."""
        from seqtasks.inference.load import load

        if plot and self.evaluation_plot is None:
            raise ConfigError(f"--plot: {self.name} evaluations have no figure to draw; "
                              "leave out --plot")
        predictor = load(export_dir, version)
        if predictor.task != self.name:
            raise ModelError(f"{predictor.export_dir} is a {predictor.task} model, not "
                             f"{self.name}; evaluate it with its own task (seqtasks evaluate DIR "
                             "picks it)")
        return self.score(predictor, data_paths, plot, **options)

    def score(self, predictor, data_paths, plot, **options) -> dict:
        raise NotImplementedError
