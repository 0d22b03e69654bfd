"""What every encoder–decoder task (translation, the sequence autoencoder, captioning) trains
alike: the ``Seq2Seq`` trainer under teacher forcing or scheduled sampling, label-smoothed
cross-entropy, token accuracy, early stopping on the validation loss."""

from __future__ import annotations

import keras

from seqtasks.task.base import ConfigT, DataT, Task
from seqtasks.training.losses import SmoothedSparseCrossentropy
from seqtasks.training.scheduled_sampling import sampling_callbacks


class EncoderDecoderTask(Task[ConfigT, DataT]):
    """A ``Task`` whose ``build`` returns a ``seqtasks.models.encoder_decoder.Seq2Seq``."""

    multi_worker = True

    def trainable(self, model):
        return model.trainer

    def compile_options(self, config, model) -> dict:
        return {"loss": SmoothedSparseCrossentropy(config.label_smoothing),
                "weighted_metrics": [keras.metrics.SparseCategoricalAccuracy(
                    name="token_accuracy")]}

    def callbacks(self, config, model, data, signatures) -> list:
        return sampling_callbacks(model.decoder.sampling_probability, config)
