"""FusedLSTM / FusedGRU on Keras' torch backend run PyTorch's kernels (seqtasks.layers.torch_rnn)
and match keras.layers.LSTM / GRU with the same weights: outputs, states and every gradient."""

import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT

pytest.importorskip("torch")  # the torch extra; CI installs it
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def results():
    env = {**os.environ, "KERAS_BACKEND": "torch",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    out = subprocess.run([sys.executable, str(ROOT / "tests/layers/torch_backend_check.py")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


CASES = ["sequences_and_states", "last_output", "go_backwards", "initial_state",
         "bidirectional", "mask_without_padding"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_torch_kernels_match_keras(results, cell, case):
    result = results[f"{cell}/{case}"]
    assert result["max_difference"] < TOLERANCE
    # Each direction of a Bidirectional layer is one call of PyTorch's kernel.
    assert result["torch_kernel_calls"] == (2 if case == "bidirectional" else 1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padded_batches_take_the_keras_loop_and_still_match(results, cell):
    result = results[f"{cell}/padded_mask_keras_loop"]
    assert result["max_difference"] < TOLERANCE and result["torch_kernel_calls"] == 0
