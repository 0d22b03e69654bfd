"""In-graph caps on decoding sizes: a value over the cap fails the graph call (as any server,
stock TF Serving included, would run it) before the loop; values under it pass unchanged."""

import pytest
import tensorflow as tf

from seqtasks.decoding.caps import capped


@tf.function(autograph=False, input_signature=[tf.TensorSpec([], tf.int32)])
def loop_steps(max_length):
    """A decoding-like loop that runs ``max_length`` steps (capped at 8)."""
    bound = capped(max_length, 8, "max_length")
    steps, _ = tf.while_loop(lambda i, total: i < bound, lambda i, total: (i + 1, total + i),
                             (tf.constant(0), tf.constant(0)))
    return steps


def test_a_value_within_the_cap_passes_unchanged():
    assert int(loop_steps(tf.constant(5))) == 5
    assert int(loop_steps(tf.constant(8))) == 8


def test_a_value_over_the_cap_fails_the_call_naming_input_and_cap():
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_length is.*2147483647.*cap "
                       "of 8"):
        loop_steps(tf.constant(2**31 - 1))


def test_the_cap_survives_export_and_reload(tmp_path):
    module = tf.Module()
    module.steps = loop_steps
    tf.saved_model.save(module, str(tmp_path / "1"), signatures={"serving_default": loop_steps})
    reloaded = tf.saved_model.load(str(tmp_path / "1")).signatures["serving_default"]
    assert int(next(iter(reloaded(max_length=tf.constant(3)).values()))) == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="cap of 8"):
        reloaded(max_length=tf.constant(9))
