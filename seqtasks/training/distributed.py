"""Training across machines: ``tf.distribute.MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.

Keras 3's ``model.fit`` fails under this strategy (keras-team/keras#20585), so ``fit_multi_worker``
runs its own loop with ``strategy.run``: a copy of the compiled model is made under the strategy
(weights mirrored, gradients all-reduced every step), each worker trains on its shard of the
batches (every n-th batch; a TBPTT model's: its rows of every batch, the streams it carries state
for), one step computes what one process would on the joined batch (the loss averaged over the
global batch's weights, the summed gradient clipped), and after every epoch the weights are
copied back into the original model, which is
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


def worker_count() -> int:
    """The processes that train: chief and workers of ``TF_CONFIG`` (1 without a cluster)."""
    cluster = tf_config().get("cluster", {})
    return max(len(cluster.get("chief", [])) + len(cluster.get("worker", [])), 1)


def is_multi_worker() -> bool:
    """True when ``TF_CONFIG`` describes a cluster of more than one worker (chief included)."""
    return worker_count() > 1


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
        # Keras clips each replica's gradients, then sums them: global-norm clipping would
        # see each replica's part, not the step's gradient. The step sums them first
        # (_all_reduced) and the optimizer clips and applies that sum as it is.
        if not hasattr(optimizer, "_all_reduce_sum_gradients"):  # a Keras without that step
            raise TrainingError(f"multi-worker training needs Keras' TensorFlow optimizer "
                                f"(keras {keras.__version__} has no _all_reduce_sum_gradients)")
        optimizer._all_reduce_sum_gradients = list
        copy.compile(optimizer=optimizer, loss=_rebind_loss(model.loss, model, copy),
                     jit_compile=False)  # as fit_task: XLA is slower for recurrent loops on CPU
        copy.set_weights(model.get_weights())
        copy.optimizer.build(copy.trainable_variables)
    return copy


def _step_function(strategy, copy: keras.Model, element_spec):
    """``train_step(batch) -> (loss, rows)``: one update from every replica's batch; the loss
    and the rows are summed over replicas."""
    import tensorflow as tf

    weighted_mean = getattr(copy.loss, "reduction", None) == "mean_with_sample_weight"

    def replica_step(batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        with tf.GradientTape() as tape:
            y_pred = copy(x, training=True)
            # Keras divides the loss by the number of replicas here; the optimizer sums the
            # gradients of all replicas, so the update is that of the mean loss.
            loss = copy.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
            if weighted_mean and sample_weight is not None:
                loss = _share_of_weighted_mean(loss, sample_weight,
                                               strategy.num_replicas_in_sync)
        gradients = _all_reduced(tape.gradient(loss, copy.trainable_variables))
        copy.optimizer.apply_gradients(zip(gradients, copy.trainable_variables))
        return loss, tf.shape(tf.nest.flatten(x)[0])[0]

    @tf.function(input_signature=[element_spec])
    def train_step(batch):
        loss, rows = strategy.run(replica_step, args=(batch,))
        return strategy.reduce("SUM", loss, axis=None), strategy.reduce("SUM", rows, axis=None)

    return train_step


def _all_reduced(gradients: list) -> list:
    """The gradients summed over replicas: the gradient of the global batch's loss."""
    import tensorflow as tf

    present = [i for i, gradient in enumerate(gradients) if gradient is not None]
    reduced = tf.distribute.get_replica_context().all_reduce(
        "SUM", [gradients[i] for i in present])
    gradients = list(gradients)
    for i, gradient in zip(present, reduced):
        gradients[i] = gradient
    return gradients


def _share_of_weighted_mean(loss, sample_weight, replicas: int):
    """A replica's part of the weighted mean loss over the global batch.

    Token losses average over their weights (padding and positions seen before weigh 0): each
    replica's loss is the mean over its own weights, while one process with the whole global
    batch divides by all of them. Scaled by its share of the total weight, the replicas' losses
    sum to that global mean, so several workers train exactly as one with their batches joined.
    """
    import tensorflow as tf

    local = tf.reduce_sum(tf.cast(sample_weight, loss.dtype))
    total = tf.distribute.get_replica_context().all_reduce("SUM", local)
    return loss * tf.math.divide_no_nan(replicas * local, total)


def _shard(model: keras.Model, train_data, workers: int, position: int):
    """This worker's part of every step: every ``workers``-th batch, or, for a model whose
    batch rows are streams that continue from one batch to the next (``splits_rows``: TBPTT),
    its slice of the rows of every batch, so that its carried state keeps following the same
    streams."""
    import tensorflow as tf

    if not getattr(model, "splits_rows", False):
        return train_data.shard(workers, position)
    rows = int(train_data.element_spec[0].shape[0])
    if rows % workers:
        raise ConfigError(f"{rows} streams do not split evenly over {workers} workers")
    share = rows // workers

    def slice_rows(*batch):
        return tf.nest.map_structure(lambda t: t[position * share:(position + 1) * share], batch)

    return train_data.map(slice_rows)


def _controls(callbacks, model: keras.Model, copy: keras.Model) -> list[tuple]:
    """(original, copy) pairs of the variables that callbacks set between steps (their
    ``controls``, e.g. the scheduled-sampling probability); the copy, rebuilt from the model's
    config, holds its variables in the same order."""
    position = {id(variable): i for i, variable in enumerate(model.variables)}
    pairs = []
    for callback in callbacks:
        for variable in getattr(callback, "controls", ()):
            if id(variable) not in position:
                raise TrainingError(f"{type(callback).__name__} sets {variable.path}, which is "
                                    "not a variable of the model being trained")
            pairs.append((variable, copy.variables[position[id(variable)]]))
    return pairs


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
        # Tasks opt in (multi_worker = True: every bundled pipeline). A task of one's own may
        # train a model this loop cannot copy onto a cluster: a clear refusal, not a wrong run.
        raise ConfigError("TF_CONFIG names several workers, but this task trains in one "
                          "process only (its Task class does not set multi_worker = True); "
                          "unset TF_CONFIG to train it here")
    strategy = multi_worker_strategy()
    shard = _shard(model, train_data, worker_count(), _worker_position(strategy.cluster_resolver))
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
    steps = _Steps(shard, train_step, agree, strategy.num_replicas_in_sync, model, copy,
                   _controls(callbacks, model, copy), callback_list)
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        # Callbacks may change weights between epochs (a TBPTT carried state is reset): the
        # copy starts every epoch from the original's, which hold its own since the last one.
        copy.set_weights(model.get_weights())
        logs = {"loss": steps.epoch()}
        model.set_weights(copy.get_weights())
        if valid_data is not None:
            # With the callbacks, as model.fit validates: their test hooks run (a reset of the
            # carried state before the validation streams start).
            scores = model.evaluate(valid_data, verbose=0, return_dict=True,
                                    callbacks=callback_list)
            logs.update({f"val_{name}": float(value) for name, value in scores.items()})
        callback_list.on_epoch_end(epoch, logs)
        if everyone_agrees_to_stop():
            break
    callback_list.on_train_end()
    return model.history


class _Steps:
    """One epoch of collective steps on this worker's shard."""

    def __init__(self, shard, train_step, agree, replicas: int, model: keras.Model,
                 copy: keras.Model, controls: list[tuple], callback_list):
        self.shard, self.train_step, self.agree, self.replicas = shard, train_step, agree, replicas
        self.model, self.copy, self.controls = model, copy, controls
        self.callback_list = callback_list

    def epoch(self) -> float:
        """Steps until any worker runs out of batches or asks to stop; returns the epoch's loss
        as ``model.fit`` logs it (the steps' losses weighted by their rows). Every step starts
        with an all-reduce of (has a batch, wants to stop), so all workers make the same
        decision and run the same number of collective steps."""
        import tensorflow as tf

        loss_sum, row_sum, step = 0.0, 0, 0
        iterator = iter(self.shard)
        while True:
            batch = iterator.get_next_as_optional()
            flags = tf.constant([int(batch.has_value()), int(bool(self.model.stop_training))],
                                tf.int32)
            have_data, stop = self.agree(flags).numpy()
            if have_data < self.replicas or stop:
                return loss_sum / row_sum if row_sum else float("nan")
            self.callback_list.on_train_batch_begin(step)
            for original, copied in self.controls:
                copied.assign(original.value)
            loss, rows = (float(value) for value in self.train_step(batch.get_value()))
            # Callbacks that follow the training step count (scheduled sampling) read the
            # original's optimizer, which does not train.
            self.model.optimizer.iterations.assign(self.copy.optimizer.iterations.value)
            loss_sum, row_sum = loss_sum + loss * rows, row_sum + int(rows)
            self.callback_list.on_train_batch_end(step, {"loss": loss})
            step += 1


def _worker_position(resolver) -> int:
    """This task's index among all tasks that train (chief first, then workers)."""
    cluster = resolver.cluster_spec().as_dict()
    if resolver.task_type == "chief":
        return 0
    return len(cluster.get("chief", [])) + resolver.task_id
