"""What a pipeline does with pretrained parts, in one place: word vectors (``embeddings``) or
language-model encoders (``init_from``) -> the vocabulary, the initial weights, the variables
that learn at ``pretrained_lr_scale``, and the report in the training summary.

    vocabulary, parts = transfer.prepare(config, tokens, learn, forms, run, ...)  # Task.prepare
    ...
    return Built(model, parts.apply(model, config, "embedding"))                 # Task.build

A ``Transfer`` is one of the things ``Task.prepare`` returns: the lifecycle keeps its report in
the run directory and gives a resumed run a ``Transfer`` without weights (its checkpoint holds
them), for which ``apply`` still names the pretrained variables.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from seqtasks.text import pretrained as vectors_lib
from seqtasks.text.vocab import Vocabulary
from seqtasks.transfer import warm_start


@dataclasses.dataclass
class Transfer:
    """The pretrained parts of one embedding (and the encoder above it)."""

    vectors: vectors_lib.EmbeddingInit | None = None
    language_models: list[warm_start.LanguageModelWeights] | None = None  # None when resuming
    init_from: str = ""

    def apply(self, model, config, embedding_layer: str, encoder: str = "encoder",
              trainable: bool = True) -> tuple[str, ...]:
        """Set the pretrained weights in ``model``; the paths of the variables they set."""
        if self.init_from:
            return warm_start.warm_start(model, config, self.language_models, embedding_layer,
                                         encoder)
        return vectors_lib.assign_embedding(model.get_layer(embedding_layer), self.vectors,
                                            trainable)

    def summary(self, name: str = "embeddings") -> dict:
        if self.vectors:
            return {name: self.vectors.report}
        if self.init_from:
            return {"init_from": self.init_from}
        return {}


class TransferTask:
    """Mixed into a ``Task`` whose data has ``transfer`` (a ``Transfer``): its report goes into
    the training summary."""

    def data_summary(self, config, data) -> dict:
        return data.transfer.summary()


def prepare(config, tokens: Iterable[list[str]], learn: Callable[[], Vocabulary],
            forms: vectors_lib.Forms, run, vectors_path: str = "", extend: bool = True,
            name: str = "embeddings", init_from: str = "") -> tuple[Vocabulary, Transfer]:
    """The vocabulary and pretrained parts of a new run: ``learn()`` (the training vocabulary)
    extended by the vectors at ``vectors_path`` (when ``extend``; else they only initialise
    its rows), or the vocabulary of the LMs ``init_from`` plus the task's new words.
    ``tokens``: the training sentences as vocabulary tokens; ``forms``: how the task
    normalises a word; the vectors' report is kept in the run directory as ``<name>.json``."""
    if init_from:
        models = warm_start.read_language_models(init_from, config.bidirectional)
        warm_start.check_tokenization(models[0], config)
        vocabulary = warm_start.vocabulary_with_task_words(
            models[0].vocabulary, tokens, config.min_count, config.max_vocab_size)
        return vocabulary, Transfer(language_models=models, init_from=init_from)
    vocabulary = learn()
    vocabulary, init = vectors_lib.pretrained_vocabulary(
        vectors_path, vocabulary, tokens, forms,
        config.max_vocab_size if extend else len(vocabulary), config.seed,
        run.path(f"{name}.json"))
    return vocabulary, Transfer(init)

