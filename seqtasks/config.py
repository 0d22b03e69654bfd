"""Configuration dataclasses shared by every pipeline, and their YAML/JSON round-trip.

Configs are flat dataclasses (``cell=gru`` rather than ``model.cell=gru``) so that ``--set`` and
grids read naturally. A pipeline config inherits the sections it needs and adds its own knobs.
Choices are declared in field metadata and checked when a config is built from user input.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from seqtasks.errors import ConfigError
from seqtasks.io import atomic_write_text
from seqtasks.recipe_file import read_recipe

C = TypeVar("C")

CELLS = ("rnn", "lstm", "peephole_lstm", "gru")
RNN_KERNELS = ("auto", "keras", "fused")
LR_SCHEDULES = ("step", "cosine")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
TRAIN_BACKENDS = ("tensorflow", "torch")
MAX_SIZE = 10_000_000  # any count or width; products of them are checked by training_bytes()
MAX_SEED = 2**32 - 1  # numpy's legacy seeding (which Keras' set_random_seed calls) takes 0..2**32-1


def choice(default, choices, help=""):
    return dataclasses.field(default=default, metadata={"choices": tuple(choices), "help": help})


def option(default, help="", minimum=None, maximum=None, below=None, above=None):
    """A config field; ``minimum`` / ``maximum`` are inclusive bounds, ``below`` / ``above``
    exclusive ones (``dropout``: ``minimum=0, below=1``). ``None`` values are never bounded."""
    bounds = {name: value for name, value in (("minimum", minimum), ("maximum", maximum),
                                              ("below", below), ("above", above))
              if value is not None}
    return dataclasses.field(default=default, metadata={"help": help, "bounds": bounds})


def size(default, help="", maximum=MAX_SIZE):
    """A count or width: an integer from 1 to ``maximum``."""
    return option(default, help, minimum=1, maximum=maximum)


def probability(default, help=""):
    """A rate in [0, 1): dropout, smoothing, sampling shares."""
    return option(default, help, minimum=0.0, below=1.0)


@dataclasses.dataclass
class TextConfig:
    """How raw strings become token ids (the same steps run inside the exported graph)."""

    level: str = choice("word", ("word", "char"), "tokenize into words or Unicode characters")
    lowercase: bool = option(True, "case-fold before tokenizing")
    max_length: int = size(64, "tokens kept per input; longer inputs are truncated")
    min_count: int = size(1, "drop tokens seen fewer times than this (they become [UNK])")
    max_vocab_size: int = size(20000, "keep at most this many tokens, most frequent first")


@dataclasses.dataclass
class RecurrentConfig:
    """The shared recurrent stack: cell type, direction, depth, width, dropout."""

    embedding_dim: int = size(128, "size of the token embeddings")
    cell: str = choice("lstm", CELLS, "recurrent cell")
    units: int = size(128, "hidden units per direction and layer")
    num_layers: int = size(1, "stacked recurrent layers")
    bidirectional: bool = option(True, "run each layer forwards and backwards")
    dropout: float = probability(0.3, "dropout on embeddings and between layers")
    recurrent_dropout: float = probability(0.0, "dropout on the recurrent state (slower)")
    rnn_kernel: str = choice("auto", RNN_KERNELS,
                             "how the time loop runs: keras (a While loop of Keras ops that "
                             "TensorFlow differentiates), fused (the same loop with its own, "
                             "hoisted backward pass; cell=lstm or gru) or auto (the one measured "
                             "faster, see bench/lm_throughput.py)")


@dataclasses.dataclass
class TransferConfig:
    """What every pipeline with pretrained parts shares: LM-initialised encoders, how the
    pretrained weights are fine-tuned."""

    embeddings_trainable: bool = option(True, "fine-tune the pretrained vectors (false: keep "
                                              "them as they are)")
    init_from: str = option("", "language-model export(s) whose embedding and recurrent layers "
                                "initialise the encoder (ULMFiT): FORWARD, or FORWARD,BACKWARD "
                                "for a bidirectional one; the vocabulary is the LM's plus the "
                                "new training words")
    pretrained_lr_scale: float = option(1.0, "learning-rate factor of the pretrained weights "
                                             "(embeddings, init_from)", above=0.0)
    freeze_epochs: int = option(0, "epochs the pretrained weights stay fixed while the rest "
                                   "learns", minimum=0)


VECTORS_HELP = ("pretrained word vectors: a file (GloVe / word2vec / fastText text, word2vec "
                ".bin), a name ('seqtasks vectors list', e.g. glove-6b-50d), or several joined "
                "by commas (stacked side by side): their words join the vocabulary up to "
                "max_vocab_size, their rows initialise the embedding, their size sets "
                "embedding_dim")


@dataclasses.dataclass
class PretrainedConfig(TransferConfig):
    """Transfer: pretrained word vectors for the embedding (``seqtasks.text.pretrained``)."""

    embeddings: str = option("", VECTORS_HELP)


@dataclasses.dataclass
class PretrainedPairConfig(TransferConfig):
    """Pretrained word vectors for a sequence-to-sequence model's two embeddings."""

    source_embeddings: str = option("", "source side: " + VECTORS_HELP)
    target_embeddings: str = option("", "target side: pretrained word vectors for the words "
                                        "of the target vocabulary (which they do not extend)")


@dataclasses.dataclass
class TrainConfig:
    """Optimisation, stopping and input-pipeline knobs."""

    epochs: int = size(10, "maximum passes over the training data")
    batch_size: int = size(32, "sequences per batch")
    optimizer: str = choice("adam", OPTIMIZERS, "optimizer name")
    learning_rate: float = option(1e-3, "initial learning rate", above=0.0)
    lr_schedule: str = choice("step", LR_SCHEDULES, "step: multiply the learning rate by "
                              "lr_decay after every epoch; cosine: anneal it to 0 over `epochs`")
    lr_decay: float = option(1.0, "step schedule: multiply the learning rate by this after "
                             "every epoch (1: constant)")
    clipnorm: float | None = option(5.0, "clip gradients by global norm (none to disable)",
                                    above=0.0)
    early_stopping_patience: int = option(3, "epochs without validation improvement before "
                                          "stopping", minimum=0)
    time_budget: float | None = option(None, "stop training after this many minutes", above=0.0)
    seed: int = option(42, "seed for initialisation, shuffling and dropout", minimum=0,
                       maximum=MAX_SEED)
    bucket_by_length: bool = option(True, "batch sequences of similar length together")
    refit: bool = option(False, "after early stopping on the validation data, train a fresh "
                         "model on train + valid for the best epoch's count and export that "
                         "one (the validation scores reported are the first model's)")
    grad_diagnostics: bool = option(False, "log per-step gradient norms (global before clipping, "
                                    "per layer, clipped or not) to logs/gradients.csv and "
                                    "TensorBoard; stop at the first NaN/Inf gradient")
    train_backend: str = choice("tensorflow", TRAIN_BACKENDS, "Keras backend that runs the fit: "
                                "torch trains on PyTorch's fused LSTM/GRU kernels (oneDNN on "
                                "CPU, cuDNN on GPU; needs the torch extra); the export is "
                                "TensorFlow either way")


def to_dict(config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _coerce(name: str, value: Any, hint) -> Any:
    """Convert a YAML/JSON/CLI value to the field's declared type, or raise ConfigError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    none_allowed = origin in (typing.Union, types.UnionType) and type(None) in args
    if none_allowed:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        (hint,) = [a for a in args if a is not type(None)]
    if value is None:
        raise ConfigError(f"'{name}' may not be empty")
    kind = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if not isinstance(value, (str, numbers.Real)) \
            or (isinstance(value, bool) and hint in (int, float)):
        raise ConfigError(f"'{name}' must be {kind.get(hint, hint)}, got {value!r}")
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError(value)
        if hint is int:
            if isinstance(value, float) and not value.is_integer():  # 2.5, nan, inf
                raise ValueError(value)
            return int(value)
        if hint is float:
            number = float(value)
            if not math.isfinite(number):
                raise ConfigError(f"'{name}' must be a finite number, got {value!r}"
                                  + (" (none turns it off)" if none_allowed else ""))
            return number
        if hint is str:
            return str(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"'{name}' must be {kind[hint]}, got {value!r}") from None
    raise ConfigError(f"'{name}' has an unsupported type {hint}")  # pragma: no cover


def _field_table(cls) -> dict[str, tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _unknown_key_error(cls, key: str) -> ConfigError:
    names = [f.name for f in dataclasses.fields(cls)]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(names)}"
    return ConfigError(f"Unknown config key '{key}' for {cls.__name__} ({hint})")


def _checked(cls, key: str, value: Any) -> Any:
    table = _field_table(cls)
    if key not in table:
        raise _unknown_key_error(cls, key)
    field, hint = table[key]
    value = _coerce(key, value, hint)
    _check_value(field, value)
    return value


def _check_value(field: dataclasses.Field, value: Any) -> None:
    choices = field.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"Unknown {field.name} '{value}'. Expected one of: {', '.join(choices)}")
    if value is None:
        return
    tests = {"minimum": (lambda v, b: v >= b, ">="), "maximum": (lambda v, b: v <= b, "<="),
             "below": (lambda v, b: v < b, "<"), "above": (lambda v, b: v > b, ">")}
    for name, bound in field.metadata.get("bounds", {}).items():
        holds, sign = tests[name]
        if not holds(value, bound):
            raise ConfigError(f"'{field.name}' must be {sign} {bound}, got {value} "
                              f"(--set {field.name}=...)")


def check(config) -> None:
    """Every field of a config within its choices and bounds (a config built in Python skips
    the checks that ``from_dict`` / ``replace`` / ``--set`` make), and the model it describes
    small enough to train in this machine's memory."""
    for field in dataclasses.fields(config):
        _check_value(field, getattr(config, field.name))
    check_memory(config)


# --- Will it fit? ----------------------------------------------------------------------------

GATES = {"rnn": 1, "gru": 3, "lstm": 4, "peephole_lstm": 4}
TRAINING_COPIES = 4  # float32 weights, their gradients and the optimizer's two moments (Adam)
FLOAT_BYTES = 4


def training_bytes(config) -> tuple[int, dict[str, Any]]:
    """A lower bound on the memory training ``config`` takes, and the keys it was computed
    from: embedding and recurrent weights (with gradients and optimizer state) plus one batch's
    recurrent activations. Keys a config lacks count as absent (no embedding, one layer...)."""
    keys = {name: getattr(config, name) for name in (
        "max_vocab_size", "embedding_dim", "units", "num_layers", "bidirectional", "cell",
        "batch_size", "bptt_steps", "max_length") if getattr(config, name, None) is not None}
    emb, units = keys.get("embedding_dim", 0), keys.get("units", 0)
    directions = 2 if keys.get("bidirectional") else 1
    gates = GATES.get(keys.get("cell"), 4)
    parameters = keys.get("max_vocab_size", 0) * emb
    width = emb
    for _ in range(keys.get("num_layers", 1) if units else 0):
        parameters += directions * gates * units * (width + units + 1)
        width = directions * units
    length = keys.get("bptt_steps", keys.get("max_length", 1))
    activations = keys.get("batch_size", 1) * length * (
        emb + keys.get("num_layers", 1) * directions * gates * units)
    members = getattr(config, "ensemble", 1)  # a sentiment ensemble: that many models
    if members > 1:
        keys["ensemble"] = members
    return members * (parameters * TRAINING_COPIES + activations) * FLOAT_BYTES, keys


def memory_limit() -> int | None:
    """This machine's memory in bytes (or its cgroup's limit, when lower); None if unknown."""
    try:
        limits = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        limits = []
    for cgroup_file in ("/sys/fs/cgroup/memory.max",
                        "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(cgroup_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    return min(limits) if limits else None


def _gigabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def check_memory(config, limit: int | None = None) -> None:
    """Refuse a config whose model cannot train in ``limit`` bytes (default: this machine's
    memory) before anything is built."""
    limit = memory_limit() if limit is None else limit
    needed, keys = training_bytes(config)
    if limit is None or needed <= limit:
        return
    shown = ", ".join(f"{name}={value}" for name, value in keys.items())
    sizes = [name for name in keys if name not in ("bidirectional", "cell")]
    raise ConfigError(f"the model needs at least {_gigabytes(needed)} to train ({shown}), more "
                      f"than the {_gigabytes(limit)} of memory here: lower "
                      f"{', '.join(sizes)} (--set KEY=...)")


def from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """Build a config from a plain dict; unknown keys and bad values raise ConfigError."""
    checked = {key: _checked(cls, key, value) for key, value in values.items()}
    return cls(**checked)


def replace(config: C, **values: Any) -> C:
    """A copy of ``config`` with some fields changed, checked like user input."""
    cls = type(config)
    return dataclasses.replace(config, **{k: _checked(cls, k, v) for k, v in values.items()})


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["cell=gru", "units=64"]`` -> ``{"cell": "gru", "units": "64"}``."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def load_file(cls: type[C], path: str | Path) -> C:
    """Read a YAML or JSON config file (only the keys it sets; the rest keep their defaults).
    Errors name the file and the line of the key (``seqtasks.recipe_file`` says what a recipe
    may hold)."""
    values, lines = read_recipe(path)
    checked = {}
    for key, value in values.items():
        try:
            checked[key] = _checked(cls, key, value)
        except ConfigError as e:
            raise ConfigError(f"{path}:{lines[key]}: {e}") from None
    return cls(**checked)


def save(config, path: str | Path) -> None:
    """Write the resolved config as YAML (``.yaml``/``.yml``) or JSON."""
    path = Path(path)
    values = to_dict(config)
    if path.suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(values, sort_keys=False)
    else:
        text = json.dumps(values, indent=2) + "\n"
    atomic_write_text(path, text)


def resolve(cls: type[C], config_file: str | Path | None = None, overrides: list[str] = ()) -> C:
    """Defaults <- config file <- ``--set`` overrides, as the CLI and the Python API do it."""
    config = load_file(cls, config_file) if config_file else cls()
    return replace(config, **parse_overrides(list(overrides)))


def describe(cls) -> str:
    """One line per key with default and help, for ``--help`` texts."""
    lines = []
    for name, (field, _) in _field_table(cls).items():
        choices = field.metadata.get("choices")
        extra = f" [{'|'.join(choices)}]" if choices else ""
        lines.append(f"  {name}={field.default}{extra}  {field.metadata.get('help', '')}")
    return "\n".join(lines)
