"""``init_from``: an encoder initialised from seqtasks language models (ULMFiT-style).

A word-level LM export holds an ``embedding`` and a recurrent stack ``decoder_<cell>_<depth>``.
A task's encoder (``<encoder>_<cell>_<depth>``, or ``<encoder>_bi_<depth>`` with forward and
backward halves) takes those weights where the shapes match: a unidirectional encoder from one
forward LM, a bidirectional one from a forward and a backward LM (``init_from=FWD,BWD``). The
task's vocabulary is the LM's, with the task's new training words appended, so the embedding
rows copy one to one. Anything that cannot match is a ConfigError naming the option to change.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path
from typing import Iterable

import numpy as np

from seqtasks.errors import ConfigError
from seqtasks.export.kinds import LANGUAGE_MODEL, kind_of
from seqtasks.export.layout import read_metadata, resolve_export
from seqtasks.text.vocab import RESERVED, Vocabulary


@dataclasses.dataclass
class LanguageModelWeights:
    export_dir: Path
    config: dict
    vocabulary: Vocabulary
    weights: dict[str, np.ndarray]  # variable path ("decoder_lstm_0/lstm_cell/kernel") -> value


def read_language_model(path) -> LanguageModelWeights:
    """The weights, config and vocabulary of an LM export (root, version or run directory)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops the export uses)

    export_dir = resolve_export(path)
    metadata = read_metadata(export_dir)
    if kind_of(metadata) != LANGUAGE_MODEL:
        raise ConfigError(f"init_from={path}: a {kind_of(metadata)} export; init_from takes "
                          "language-model exports ('seqtasks train lm')")
    if metadata["config"]["level"] != "word":
        raise ConfigError(f"init_from={path}: a character-level LM; train the LM with "
                          "level=word to initialise a word-level encoder")
    loaded = tf.saved_model.load(str(export_dir))
    weights = {v.name.split(":")[0]: v.numpy() for v in loaded.variables}
    return LanguageModelWeights(export_dir, metadata["config"],
                                Vocabulary.load(export_dir / "assets" / "vocab.txt"), weights)


def read_language_models(spec: str, bidirectional: bool) -> list[LanguageModelWeights]:
    """``FORWARD`` or ``FORWARD,BACKWARD`` -> their weights, checked against each other."""
    paths = [p.strip() for p in spec.split(",") if p.strip()]
    wanted = 2 if bidirectional else 1
    if len(paths) != wanted:
        need = ("a forward and a backward LM: init_from=FORWARD_DIR,BACKWARD_DIR (train the "
                "second with --set direction=backward), or set bidirectional=false") \
            if bidirectional else "one forward LM (or set bidirectional=true for two)"
        raise ConfigError(f"init_from={spec}: {len(paths)} LM(s) given; this encoder needs "
                          f"{need}")
    models = [read_language_model(p) for p in paths]
    for model, direction in zip(models, ("forward", "backward")):
        if model.config.get("direction", "forward") != direction:
            raise ConfigError(f"init_from: {model.export_dir} reads {model.config.get('direction', 'forward')}; "
                              f"expected a {direction} LM in that place")
    if len(models) == 2 and models[0].vocabulary.tokens != models[1].vocabulary.tokens:
        raise ConfigError("init_from: the forward and backward LMs have different "
                          "vocabularies; train both on the same corpus with the same options")
    return models


def check_tokenization(lm: LanguageModelWeights, config) -> None:
    """The LM must have split and normalised words as the task does."""
    if lm.config.get("word_split") != "punctuation" or lm.config["lowercase"] != config.lowercase:
        raise ConfigError(
            f"init_from: {lm.export_dir} was trained with word_split={lm.config.get('word_split')} "
            f"lowercase={lm.config['lowercase']}; this task splits words at punctuation with "
            f"lowercase={config.lowercase}: train the LM with --set word_split=punctuation "
            f"lowercase={str(config.lowercase).lower()}")


def vocabulary_with_task_words(lm: Vocabulary, task_tokens: Iterable[Iterable[str]],
                               min_count: int, max_size: int) -> Vocabulary:
    """The LM's vocabulary, then the task's training tokens it lacks (seen ``min_count`` times,
    most frequent first) up to ``max_size`` in all (never fewer than the LM's own)."""
    counts = collections.Counter(t for tokens in task_tokens for t in tokens if t not in lm)
    for token in RESERVED:
        counts.pop(token, None)
    new = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return Vocabulary(lm.tokens + new[:max(0, max_size - len(lm))])


def check_shapes(config, lm: dict) -> None:
    """The encoder's options against the LM's: the option to change when they differ."""
    for key in ("cell", "units", "embedding_dim"):
        if getattr(config, key) != lm[key]:
            raise ConfigError(f"init_from: the LM has {key}={lm[key]}, this encoder "
                              f"{key}={getattr(config, key)}; set {key}={lm[key]}")
    if config.num_layers > lm["num_layers"]:
        raise ConfigError(f"init_from: the LM has {lm['num_layers']} layer(s), this encoder "
                          f"num_layers={config.num_layers}; set num_layers<={lm['num_layers']}")
    if config.bidirectional and config.num_layers > 1:
        raise ConfigError("init_from: above its first layer a bidirectional encoder reads both "
                          "directions, which no one-directional LM layer does; set num_layers=1 "
                          "or bidirectional=false")


def _copy(target, source: np.ndarray, name: str) -> None:
    """Copy ``source`` into the variable ``target``. With more rows here (the embedding of a
    vocabulary that appends the task's words to the LM's; an input kernel that reads the
    embedding followed by other features, as NER's char and casing features) the LM's rows go
    first and the rest keep their initialisation."""
    shape = tuple(target.shape)
    if shape == source.shape:
        target.assign(source)
    elif len(shape) == 2 and shape[1] == source.shape[1] and shape[0] > source.shape[0]:
        value = target.numpy()
        value[:source.shape[0]] = source
        target.assign(value)
    else:
        raise ConfigError(f"init_from: {name} is {shape} here, {source.shape} in the LM")


def encoder_variables(model, config, embedding_layer: str, encoder: str = "encoder"
                      ) -> list[tuple[object, int, str]]:
    """(variable, which LM, the LM's variable path) for the embedding and every recurrent
    weight of ``model``'s encoder that an LM initialises."""
    pairs = [(model.get_layer(embedding_layer).embeddings, 0, "embedding/embeddings")]
    for depth in range(config.num_layers):
        if config.bidirectional:
            wrapper = model.get_layer(f"{encoder}_bi_{depth}")
            halves = [(wrapper.forward_layer, 0), (wrapper.backward_layer, 1)]
        else:
            halves = [(model.get_layer(f"{encoder}_{config.cell}_{depth}"), 0)]
        for layer, which in halves:
            for variable in layer.weights:
                relative = variable.path.split(f"{layer.name}/", 1)[1]
                pairs.append((variable, which, f"decoder_{config.cell}_{depth}/{relative}"))
    return pairs


def warm_start(model, config, models: list[LanguageModelWeights] | None, embedding_layer: str,
               encoder: str = "encoder") -> tuple[str, ...]:
    """Copy the LMs' embedding and recurrent layers into ``model`` (nothing for ``None``: a
    resumed run's checkpoint holds the weights); the paths of the variables they set (for
    their learning rate, also when resuming)."""
    pairs = encoder_variables(model, config, embedding_layer, encoder)
    if models:
        check_shapes(config, models[0].config)
        for variable, which, key in pairs:
            lm = models[which]
            if key not in lm.weights:
                raise ConfigError(f"init_from: {lm.export_dir} has no {key}")
            _copy(variable, lm.weights[key], variable.path)
    return tuple(variable.path for variable, _, _ in pairs)
