"""Config sections of the encoder-decoder tasks (translation, autoencoder, captioning).

Kept apart from the model code and free of TensorFlow, so that a task's config can be listed
(``seqtasks config TASK``) and checked without importing Keras.
"""

from __future__ import annotations

import dataclasses

from seqtasks.config import RecurrentConfig, choice, option, probability, size

# The names of ``seqtasks.layers.attention.ATTENTIONS`` plus "none" (a test keeps them equal).
ATTENTION_CHOICES = ("none", "bahdanau", "luong_dot", "luong_general")
SAMPLING_SCHEDULES = ("none", "linear", "exponential", "inverse_sigmoid")


@dataclasses.dataclass
class Seq2SeqConfig(RecurrentConfig):
    """Encoder (the shared recurrent stack) plus decoder and attention."""

    attention: str = choice("bahdanau", ATTENTION_CHOICES, "decoder attention over the encoder "
                            "states (none: the decoder sees only their fixed-size summary)")
    attention_units: int = size(128, "hidden units of Bahdanau's scoring layer")
    decoder_units: int | None = size(None, "decoder width (none: units x directions, the "
                                             "width of the encoder states)")
    label_smoothing: float = probability(0.1, "target probability spread over the whole vocabulary")


@dataclasses.dataclass
class BeamConfig:
    """How the exported model decodes by default (signatures may take these as inputs)."""

    beam_size: int = size(4, "hypotheses kept by beam search (1: greedy decoding)")
    length_penalty: float = option(0.6, "GNMT length-penalty alpha when ranking beams (0: none)")


@dataclasses.dataclass
class DecodingConfig(BeamConfig):
    """Beam settings plus output lengths that follow the source's."""

    max_output_ratio: float = option(1.5, "outputs stop after ratio x source tokens + offset "
                                          "(and after max_length)")
    max_output_offset: int = option(10, "see max_output_ratio")


@dataclasses.dataclass
class ScheduledSamplingConfig:
    """Config keys of scheduled sampling (``sampling_schedule=none``: always teacher forcing);
    ``seqtasks.training.scheduled_sampling`` turns them into a schedule."""

    sampling_schedule: str = choice("none", SAMPLING_SCHEDULES,
                                    "how the gold-token probability decays")
    sampling_slope: float = option(1e-4, "linear: eps drops by this per training step")
    sampling_decay: float = option(0.9998, "exponential: eps = decay ** step")
    sampling_k: float = option(2000.0, "inverse_sigmoid: eps = k / (k + exp(step / k))")
    teacher_forcing_floor: float = option(0.75, "eps never drops below this")
