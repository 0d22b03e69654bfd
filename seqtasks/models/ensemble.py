"""Several classifiers trained side by side in one model, their probabilities averaged.

A seed ensemble in one SavedModel: each member is the same network with its own initial
weights (drawn one after another from the run's seed) and its own dropout masks. Training sees
the members' outputs stacked, [batch, members, classes], and minimises the mean of their
cross-entropies, so each member learns on its own as if trained alone (the loss of the
averaged probabilities would couple them into one wider model). Validation accuracy, early
stopping and the export read the average, which is what the ensemble answers.
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import ops

def stacked_members(build_member: Callable[[str], keras.KerasTensor], members: int
                    ) -> keras.KerasTensor:
    """[batch, members, classes] from ``members`` calls of ``build_member(prefix)``, each
    returning a member's probabilities [batch, classes] through layers named with ``prefix``."""
    return StackMembers(name="members")([build_member(f"member{i}_") for i in range(members)])


@keras.saving.register_keras_serializable(package="seqtasks")
class StackMembers(keras.layers.Layer):
    """[batch, classes] x members -> [batch, members, classes]."""

    def call(self, parts):
        return ops.stack(parts, axis=1)

    def compute_output_shape(self, input_shapes):
        first = tuple(input_shapes[0])
        return (first[0], len(input_shapes), *first[1:])


def average(probabilities):
    """The ensemble's answer: [batch, members, classes] -> [batch, classes]; a single model's
    [batch, classes] unchanged."""
    return ops.mean(probabilities, axis=1) if len(probabilities.shape) == 3 else probabilities


@keras.saving.register_keras_serializable(package="seqtasks")
class MemberCrossentropy(keras.losses.Loss):
    """Integer targets [batch] against stacked probabilities [batch, members, classes]: the
    mean over members of each member's sparse cross-entropy."""

    def __init__(self, name: str = "member_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        targets = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
        targets = ops.repeat(targets, ops.shape(y_pred)[1], axis=1)
        return ops.mean(keras.losses.sparse_categorical_crossentropy(targets, y_pred), axis=-1)


def averaged_accuracy(y_true, y_pred):
    """Accuracy of the averaged probabilities (what the export answers)."""
    return keras.metrics.sparse_categorical_accuracy(ops.reshape(y_true, (-1,)),
                                                     average(y_pred))


def accuracy_metric() -> keras.metrics.Metric:
    """``accuracy`` (so ``val_accuracy`` is monitored as for one model) of the average."""
    return keras.metrics.MeanMetricWrapper(averaged_accuracy, name="accuracy")
