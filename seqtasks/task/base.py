"""The contract every task pipeline implements, and nothing else: what differs between tasks.

A task is a config class plus data, a model, export signatures and an evaluation. The lifecycle
that runs it (``seqtasks.training.lifecycle``: run directory, resume, seed, fit, time budget,
throughput, export, plots, training summary) is the same for every task, so a new task is one
file of its own code:

    class Sentiment(Task):
        name, config_class = "sentiment", SentimentConfig
        def read(self, config, train_path, valid_path): ...    # files -> checked Splits
        def prepare(self, config, splits, run, resumed): ...   # vocabularies + labels
        def datasets(self, config, data): ...                  # tf.data train / valid
        def training_units(self, config, data): ...            # tokens in one epoch
        def build(self, config, data): ...                     # keras.Model, token ids in
        def compile_options(self, config, model): ...          # loss (and metrics)
        def signatures(self, config, model, data): ...         # string-in tf.functions
        def validation_metrics(self, config, data, signatures): ...
        def export_assets(self, config, model, data, work_dir): ...  # tables, files, metadata
        def score(self, predictor, data_paths, plot, **options): ...   # evaluate an export
        def format_metrics(self, metrics): ...

    seqtasks.train(Sentiment(), SentimentConfig(), "train.tsv", "valid.tsv", "saved_models/x")
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from seqtasks.errors import ConfigError, ModelError


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


class Task:
    """One task: subclass it, set the class attributes, implement the methods that raise
    ``NotImplementedError``; the others have defaults that suit most tasks."""

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

    def check(self, config) -> None:
        """Config errors that the config's own checks cannot see, before anything is read."""

    def read(self, config, train_paths, valid_paths, **options) -> Splits:
        """Read and check both splits; bad data fails here, before the run directory exists."""
        raise NotImplementedError

    def prepare(self, config, splits: Splits, run, resumed: bool):
        """The task's data: vocabularies and label sets built from ``splits.train`` and saved
        in ``run`` (a ``RunDir``), or, when ``resumed``, loaded back from it."""
        raise NotImplementedError

    def datasets(self, config, data) -> tuple:
        """``(train, valid)`` tf.data datasets of (inputs, targets[, weights]) batches."""
        raise NotImplementedError

    def training_units(self, config, data) -> int:
        """``throughput_unit``s in one epoch of training data (for train_<unit>_per_second)."""
        raise NotImplementedError

    def build(self, config, data):
        """The model, token ids (or images) in; ``trainable(model)`` is what ``fit`` trains."""
        raise NotImplementedError

    def trainable(self, model):
        return model

    def exported(self, model):
        """The Keras model whose variables the export tracks."""
        return self.trainable(model)

    def compile_options(self, config, model) -> dict:
        """``loss`` (and ``metrics`` / ``weighted_metrics``) for ``keras.Model.compile``."""
        raise NotImplementedError

    def learning_rate(self, config, steps_per_epoch: int):
        """A float (training follows it with the config's ``lr_schedule``) or a Keras schedule."""
        return config.learning_rate

    def signatures(self, config, model, data) -> dict:
        """Export signatures: ``tf.function``s with string input signatures."""
        raise NotImplementedError

    def callbacks(self, config, model, data, signatures: dict) -> list:
        """Extra Keras callbacks (a validation score for early stopping, scheduled sampling)."""
        return []

    def validation_metrics(self, config, data, signatures: dict) -> dict:
        """The trained model's metrics on the validation split, through ``signatures``."""
        raise NotImplementedError

    def export_assets(self, config, model, data, work_dir: Path) -> ExportAssets:
        raise NotImplementedError

    def validation_unknown_share(self, config, data) -> float | None:
        """The share of validation tokens the vocabulary maps to [UNK] (None: not applicable)."""
        return None

    def pretrained_variables(self, model, data) -> tuple[str, ...]:
        """Paths of the variables initialised from pretraining (vectors, ``init_from``): they
        learn at ``pretrained_lr_scale`` and stay fixed for ``freeze_epochs``."""
        return ()

    def data_summary(self, config, data) -> dict:
        """Entries for the training summary about the data (pairs read, pairs skipped)."""
        return {}

    def figures(self, config, data, metrics: dict, export_dir: Path) -> None:
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

    def format_metrics(self, metrics: dict) -> str:
        """Human-readable evaluation summary for the CLI."""
        raise NotImplementedError

    # --- diagnostics, for the tasks that have them ----------------------------------------------

    def attention_plot(self, predictor, source, path, beam_size: int = 1) -> Path:
        """The attention maps of ``source``'s output (a sentence or an image), as a PNG."""
        raise ModelError(f"{predictor.export_dir} is a {self.name} model; attention plots need a "
                         "translate or caption model")

    def gradient_probe(self, export_dir, data_paths, batch_size: int):
        """A ``seqtasks.diagnostics.flow.GradientProbe`` over the export's first recurrent layer."""
        raise ModelError(f"{export_dir}: gradient flow is not available for {self.name} models "
                         "yet (sentiment, lm and translate are)")

    def comparison_figure(self, exports: dict[str, Path], valid_paths, path: Path) -> Path | None:
        """For ``seqtasks compare``: one figure over every run's export (none by default)."""
        return None
