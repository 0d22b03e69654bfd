"""Training across machines: ``tf.distribute.MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.

Keras 3's ``model.fit`` fails under this strategy (keras-team/keras#20585), so ``fit_multi_worker``
runs its own loop with ``strategy.run``: a copy of the compiled model is made under the strategy
(weights mirrored, gradients all-reduced every step), each worker trains on its shard of the
batches, and after every epoch the weights are copied back into the original model, which is
validated locally and handed to the usual Keras callbacks (early stopping, NaN guard, time budget,
scores such as entity F1). Workers agree before every step and after every epoch (one small
all-reduce), so they always run the same number of steps and stop together.

Every worker runs the same command with its own ``TF_CONFIG``; the chief (``chief`` 0, or
``worker`` 0 when there is no chief) writes the real output, the others write to a private
directory: a pipeline's ``train`` starts with ``out_dir = join_cluster(out_dir)``.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import keras
import numpy as np

from seqtasks.errors import ConfigError, TrainingError


def tf_config() -> dict:
    """The parsed ``TF_CONFIG`` environment variable ({} when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster", {}), dict):
        raise ConfigError('TF_CONFIG must look like {"cluster": {"worker": ["host:port", ...]}, '
                          '"task": {"type": "worker", "index": 0}}')
    return config


def is_multi_worker() -> bool:
    """True when ``TF_CONFIG`` describes a cluster of more than one worker (chief included)."""
    cluster = tf_config().get("cluster", {})
    return len(cluster.get("chief", [])) + len(cluster.get("worker", [])) > 1


def is_chief() -> bool:
    """True for the process that writes outputs: single-process runs, ``chief`` 0, or
    ``worker`` 0 in a cluster without a chief."""
    config = tf_config()
    task = config.get("task", {})
    if not is_multi_worker():
        return True
    if "chief" in config["cluster"]:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


_joined = False  # join_cluster ran: the task supports multi-worker training


@functools.cache
def multi_worker_strategy():
    """The process's ``MultiWorkerMirroredStrategy``, created on first use: TensorFlow requires
    that before it runs any op, so call ``join_cluster`` first thing in a training run."""
    import tensorflow as tf

    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:
        if "program startup" not in str(e):
            raise
        raise TrainingError("multi-worker training must join the cluster before TensorFlow runs "
                            "any op: seqtasks.training.lifecycle.train does it first for tasks "
                            "with multi_worker = True") from None


def join_cluster(out_dir: str | Path) -> Path:
    """With a multi-worker ``TF_CONFIG``: connect to the other workers now, and return where this
    process writes: ``out_dir`` for the chief, a private ``out_dir/.worker-<type>-<index>`` for
    the others (their exports are copies nobody needs; TF's advice is not to write where the
    chief writes). Without one: ``out_dir``, nothing else happens."""
    out_dir = Path(out_dir)
    if not is_multi_worker():
        return out_dir
    global _joined
    multi_worker_strategy()
    _joined = True
    if is_chief():
        return out_dir
    task = tf_config().get("task", {})
    return out_dir / f".worker-{task.get('type', 'worker')}-{task.get('index', 0)}"


def _rebind_loss(loss, model: keras.Model, copy: keras.Model):
    """A loss that is a method of one of ``model``'s layers (a CRF's negative log-likelihood) must
    use the copy's layer, whose weights are the ones being trained."""
    if isinstance(loss, dict):
        return {key: _rebind_loss(value, model, copy) for key, value in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_rebind_loss(value, model, copy) for value in loss]
    owner = getattr(loss, "__self__", None)
    if isinstance(owner, keras.layers.Layer) and any(layer is owner for layer in model.layers):
        return getattr(copy.get_layer(owner.name), loss.__func__.__name__)
    return loss


def _distributed_copy(strategy, model: keras.Model) -> keras.Model:
    with strategy.scope():
        # Rebuilt from its config, not clone_model: that also recompiles the copy from the
        # compile config, which cannot hold a loss that is a layer's method (the CRF's).
        copy = model.__class__.from_config(model.get_config())
        optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
        copy.compile(optimizer=optimizer, loss=_rebind_loss(model.loss, model, copy))
        copy.set_weights(model.get_weights())
        copy.optimizer.build(copy.trainable_variables)
    return copy


def _step_function(strategy, copy: keras.Model, element_spec):
    import tensorflow as tf

    def replica_step(batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        with tf.GradientTape() as tape:
            y_pred = copy(x, training=True)
            # Keras divides the loss by the number of replicas here; the optimizer sums the
            # gradients of all replicas, so the update is that of the mean loss.
            loss = copy.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
        gradients = tape.gradient(loss, copy.trainable_variables)
        copy.optimizer.apply_gradients(zip(gradients, copy.trainable_variables))
        return loss

    @tf.function(input_signature=[element_spec])
    def train_step(batch):
        return strategy.reduce("SUM", strategy.run(replica_step, args=(batch,)), axis=None)

    return train_step


def _agreement_function(strategy):
    """``agree(flags)``: each worker's int flags summed over all replicas."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int32)])
    def agree(flags):
        return strategy.reduce("SUM", strategy.run(tf.identity, args=(flags,)), axis=None)

    return agree


def fit_multi_worker(model: keras.Model, train_data, valid_data, epochs: int,
                     callbacks: list[keras.callbacks.Callback] = (),
                     verbose: int | str = 0) -> keras.callbacks.History:
    """Train the compiled ``model`` on all workers of ``TF_CONFIG``; the same contract as
    ``model.fit(train_data, validation_data=valid_data, epochs=..., callbacks=...)``.

    ``train_data`` is a batched ``tf.data.Dataset``; each worker takes every n-th batch, so one
    step trains on n batches (``batch_size`` is per worker). Callbacks see ``model`` with the
    current weights: batch hooks after every step (logs: the step's mean loss), epoch hooks with
    ``loss`` and the ``val_`` metrics of ``model.evaluate``. Setting ``model.stop_training`` on
    any worker stops every worker after the step in progress.
    """
    import tensorflow as tf

    if not _joined:
        # Tasks opt in (multi_worker = True). The others train models Keras cannot copy onto a
        # cluster as they are (a TBPTT wrapper whose carried state is per stream, a seq2seq
        # trainer with its own step): better a clear refusal than a silently wrong run.
        raise ConfigError("TF_CONFIG names several workers, but this pipeline trains in one "
                          "process only (multi-worker training: the sentiment and ner pipelines); "
                          "unset TF_CONFIG to train it here")
    strategy = multi_worker_strategy()
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    shard = train_data.shard(workers, _worker_position(strategy.cluster_resolver))
    copy = _distributed_copy(strategy, model)
    train_step = _step_function(strategy, copy, shard.element_spec)
    agree = _agreement_function(strategy)

    def everyone_agrees_to_stop() -> bool:
        flags = tf.constant([1, int(bool(model.stop_training))], tf.int32)
        return bool(agree(flags).numpy()[1])

    # Per-epoch backups would be written by every worker to one place: not supported here.
    callbacks = [callback for callback in callbacks
                 if not isinstance(callback, keras.callbacks.BackupAndRestore)
                 and (is_chief() or not isinstance(callback, keras.callbacks.TensorBoard))]
    callback_list = keras.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=bool(verbose) and is_chief(), model=model,
        epochs=epochs, steps=None, verbose=1 if verbose else 0)
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        losses = _train_epoch(shard, train_step, agree, strategy.num_replicas_in_sync, model,
                              callback_list)
        model.set_weights(copy.get_weights())
        logs = {"loss": float(np.mean(losses)) if losses else float("nan")}
        if valid_data is not None:
            scores = model.evaluate(valid_data, verbose=0, return_dict=True)
            logs.update({f"val_{name}": float(value) for name, value in scores.items()})
        callback_list.on_epoch_end(epoch, logs)
        if everyone_agrees_to_stop():
            break
    callback_list.on_train_end()
    return model.history


def _train_epoch(shard, train_step, agree, replicas: int, model: keras.Model,
                 callback_list) -> list[float]:
    """Steps until any worker runs out of batches or asks to stop; returns the step losses.
    Every step starts with an all-reduce of (has a batch, wants to stop), so all workers make
    the same decision and run the same number of collective steps."""
    import tensorflow as tf

    losses: list[float] = []
    iterator = iter(shard)
    while True:
        batch = iterator.get_next_as_optional()
        flags = tf.constant([int(batch.has_value()), int(bool(model.stop_training))], tf.int32)
        have_data, stop = agree(flags).numpy()
        if have_data < replicas or stop:
            return losses
        callback_list.on_train_batch_begin(len(losses))
        losses.append(float(train_step(batch.get_value())))
        callback_list.on_train_batch_end(len(losses) - 1, {"loss": losses[-1]})


def _worker_position(resolver) -> int:
    """This task's index among all tasks that train (chief first, then workers)."""
    cluster = resolver.cluster_spec().as_dict()
    if resolver.task_type == "chief":
        return 0
    return len(cluster.get("chief", [])) + resolver.task_id
