"""The optimizer and the learning rate over training: Adam / RMSprop / SGD by name with
global-norm clipping, a separate rate for pretrained variables, and the ``lr_schedule``s."""

from __future__ import annotations

import keras

from seqtasks.config import LR_SCHEDULES
from seqtasks.errors import ConfigError

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def make_optimizer(name: str, learning_rate, clipnorm: float | None,
                   pretrained: tuple[str, ...] = (), pretrained_lr_scale: float = 1.0
                   ) -> keras.optimizers.Optimizer:
    """Optimizer by name. ``clipnorm`` clips by the *global* norm over all gradients, as the RNN
    literature means it (Keras' own ``clipnorm=`` clips each tensor separately). The variables
    whose paths are in ``pretrained`` learn at ``pretrained_lr_scale`` times the rate
    (discriminative fine-tuning; ``FreezePretrained`` sets the factor to 0 for the first epochs)."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"Unknown optimizer '{name}'. Expected one of: {', '.join(OPTIMIZERS)}")
    if clipnorm is not None and clipnorm <= 0:
        raise ConfigError(f"clipnorm must be > 0 or none, got {clipnorm}")
    if not pretrained:
        return OPTIMIZERS[name](learning_rate=learning_rate, global_clipnorm=clipnorm)
    return SCALED_OPTIMIZERS[name](learning_rate=learning_rate, global_clipnorm=clipnorm,
                                   pretrained=pretrained, pretrained_lr_scale=pretrained_lr_scale)


class PretrainedRate:
    """Mixed into a Keras optimizer: the rate of the ``pretrained`` variables is multiplied by
    the variable ``pretrained_rate`` (saved with the optimizer, so a resumed run keeps it)."""

    def __init__(self, *args, pretrained: tuple[str, ...] = (), pretrained_lr_scale: float = 1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.pretrained = frozenset(pretrained)
        self.pretrained_lr_scale = pretrained_lr_scale

    def build(self, variables):
        super().build(variables)
        self.pretrained_rate = self.add_variable(
            (), initializer=keras.initializers.Constant(self.pretrained_lr_scale),
            name="pretrained_rate")
        # update_step may get the backend's variable (a tf.Variable): match by the key the
        # optimizer itself uses for a variable
        self.pretrained_keys = {self._var_key(v) for v in variables if v.path in self.pretrained}

    def update_step(self, gradient, variable, learning_rate):
        if self._var_key(variable) in self.pretrained_keys:
            learning_rate = keras.ops.cast(learning_rate, variable.dtype) * keras.ops.cast(
                self.pretrained_rate, variable.dtype)
        return super().update_step(gradient, variable, learning_rate)


SCALED_OPTIMIZERS = {name: type(f"Pretrained{cls.__name__}", (PretrainedRate, cls), {})
                     for name, cls in OPTIMIZERS.items()}


def learning_rate_schedule(learning_rate: float, schedule: str, decay: float,
                           steps_per_epoch: int, epochs: int):
    """The learning rate over training, for ``make_optimizer``.

    ``step``: multiplied by ``decay`` after every epoch (1.0: constant). ``cosine``: half a cosine
    from ``learning_rate`` down to 0 at the end of epoch ``epochs``, step by step; with a time
    budget, set ``epochs`` to what fits in it, so the rate anneals before the budget ends.
    """
    if schedule not in LR_SCHEDULES:
        raise ConfigError(f"Unknown lr_schedule '{schedule}'. Expected one of: "
                          f"{', '.join(LR_SCHEDULES)}")
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=max(steps_per_epoch * epochs, 1))
    if not 0 < decay <= 1:
        raise ConfigError(f"lr_decay must be in (0, 1], got {decay}")
    if decay == 1:
        return learning_rate
    return keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=max(steps_per_epoch, 1), decay_rate=decay, staircase=True)
