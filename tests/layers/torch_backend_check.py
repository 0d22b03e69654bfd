"""Run under KERAS_BACKEND=torch by test_torch_rnn.py: FusedLSTM / FusedGRU (PyTorch's kernels)
against keras.layers.LSTM / GRU (Keras' loop) with the same weights. Prints one JSON object:
case -> {"max_difference": largest |difference| over outputs, states and gradients,
"torch_kernel_calls": how many calls ran torch_rnn}."""

import json
import os

assert os.environ["KERAS_BACKEND"] == "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seqtasks.layers import torch_rnn  # noqa: E402
# The same pairs, weights and shapes as the TensorFlow kernel's tests.
from test_fused_rnn import BATCH, FEATURES, PAIRS, STATES, TIME, UNITS, paired  # noqa: E402

calls = 0
run_torch = torch_rnn.torch_rnn


def counted(*args, **kwargs):
    global calls
    calls += 1
    return run_torch(*args, **kwargs)


torch_rnn.torch_rnn = counted


def outputs_and_gradients(layer, x, mask, states):
    """Every output and the gradients of a loss on all of them w.r.t. inputs, states, weights."""
    x = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(s, requires_grad=True) for s in states] if states else None
    mask = None if mask is None else torch.tensor(mask)
    out = layer(x, mask=mask, initial_state=states, training=True)
    out = list(out) if isinstance(out, (list, tuple)) else [out]
    generator = torch.Generator().manual_seed(7)
    loss = sum(torch.sum(torch.sin(o) * (torch.rand(o.shape, generator=generator) * 2 - 1))
               for o in out)
    for variable in layer.trainable_variables:
        variable.value.grad = None
    loss.backward()
    grads = [x.grad] + [s.grad for s in states or []] + \
        [v.value.grad for v in layer.trainable_variables]
    return [o.detach().numpy() for o in out] + [g.numpy() for g in grads]


def difference(cell, options, bidirectional=False, with_state=False, mask=None):
    wrap = keras.layers.Bidirectional if bidirectional else (lambda layer: layer)
    reference, fused = paired(cell, wrap, **options)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32")
    states = [rng.normal(size=(BATCH, UNITS)).astype("float32")
              for _ in range(STATES[cell])] if with_state else None
    global calls
    calls = 0
    got = outputs_and_gradients(fused, x, mask, states)
    fused_calls = calls
    want = outputs_and_gradients(reference, x, mask, states)
    assert len(got) == len(want)
    return {"max_difference": max(float(np.max(np.abs(g - w))) for g, w in zip(got, want)),
            "torch_kernel_calls": fused_calls}


padded = np.ones((BATCH, TIME), bool)
padded[1, 4:] = False
results = {}
for cell in PAIRS:
    results[f"{cell}/sequences_and_states"] = difference(
        cell, {"return_sequences": True, "return_state": True})
    results[f"{cell}/last_output"] = difference(cell, {"return_sequences": False})
    results[f"{cell}/go_backwards"] = difference(
        cell, {"return_sequences": True, "go_backwards": True, "return_state": True})
    results[f"{cell}/initial_state"] = difference(
        cell, {"return_sequences": True, "return_state": True}, with_state=True)
    results[f"{cell}/bidirectional"] = difference(cell, {"return_sequences": True},
                                                  bidirectional=True)
    results[f"{cell}/mask_without_padding"] = difference(
        cell, {"return_sequences": True}, mask=np.ones((BATCH, TIME), bool))
    results[f"{cell}/padded_mask_keras_loop"] = difference(
        cell, {"return_sequences": True, "return_state": True}, mask=padded)
print(json.dumps(results))
