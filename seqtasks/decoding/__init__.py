"""Decoding shared by language models and translation: samplers, the sampling loop, beam search,
scoring.

    from seqtasks.decoding import TopKSampler, sample_loop
    ids, lengths = sample_loop(step_fn, state, start_ids, 50, TopKSampler(10), eos_id, seed)
"""

from __future__ import annotations

from seqtasks.errors import ConfigError
from seqtasks.decoding.beam_search import beam_search
from seqtasks.decoding.loop import sample_loop
from seqtasks.decoding.samplers import (GreedySampler, RuntimeSampler, TemperatureSampler,
                                        TopKSampler, TopPSampler)

SAMPLERS = {
    "greedy": lambda temperature, top_k, top_p: GreedySampler(),
    "temperature": lambda temperature, top_k, top_p: TemperatureSampler(temperature),
    "top_k": lambda temperature, top_k, top_p: TopKSampler(top_k, temperature),
    "top_p": lambda temperature, top_k, top_p: TopPSampler(top_p, temperature),
}


def make_sampler(name: str, temperature: float = 1.0, top_k: int = 10, top_p: float = 0.9):
    """A sampler by name (``greedy``, ``temperature``, ``top_k``, ``top_p``); each uses only the
    parameters it needs."""
    if name not in SAMPLERS:
        raise ConfigError(f"Unknown sampler '{name}'. Expected one of: {', '.join(SAMPLERS)}")
    return SAMPLERS[name](temperature, top_k, top_p)


__all__ = ["GreedySampler", "RuntimeSampler", "TemperatureSampler", "TopKSampler", "TopPSampler",
           "SAMPLERS", "beam_search", "make_sampler", "sample_loop"]
