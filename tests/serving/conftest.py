"""Serving fixtures: a real uvicorn server on 127.0.0.1 (free port) in a background thread, and a
hand-made SavedModel whose signatures exercise what sentiment's does not (several inputs, int and
float dtypes, an unbatched input, an unbatched output, a signature that can fail at run time)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(app):
    """Serve ``app`` with uvicorn on 127.0.0.1; yields the base URL; shuts down gracefully."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@pytest.fixture(scope="session")
def sentiment_models(sentiment_export):
    from seqtasks.serving.models import load_models

    return load_models([f"sentiment={sentiment_export[0].parent}"])


@pytest.fixture(scope="session")
def numbers_export(tmp_path_factory):
    """``DIR/1``: a SavedModel (not trained by seqtasks) with four signatures."""
    import tensorflow as tf

    class Numbers(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def parse(self, text):  # fails at run time on text that is not a number
            return {"value": tf.strings.to_number(text) * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32),
                                      tf.TensorSpec([], tf.float32)])
        def scale(self, x, factor):
            return {"scaled": x * factor, "sum": tf.reduce_sum(x, axis=1)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int64),
                                      tf.TensorSpec([None], tf.string)])
        def echo(self, ids, raw):
            return {"next_ids": ids + 1, "raw_bytes": raw, "flag": ids > 0}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def total(self, x):  # no batch dimension in the output
            return {"total": tf.reduce_sum(x)}

    root = tmp_path_factory.mktemp("numbers") / "numbers"
    module = Numbers()
    tf.saved_model.save(module, str(root / "1"), signatures={
        "serving_default": module.parse, "scale": module.scale, "echo": module.echo,
        "total": module.total})
    (root / "1" / "seqtasks.json").write_text(json.dumps({"task": "numbers", "version": 1}))
    return root


@pytest.fixture(scope="session")
def serve_app():
    """``with serve_app(app) as url:`` runs ``app`` on a free 127.0.0.1 port."""
    return running


@pytest.fixture
def port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


@pytest.fixture(scope="session")
def half_plus_two(tmp_path_factory):
    """TF Serving's half_plus_two (TF1 graph, tf.Example signatures) at BASE/00000123."""
    from tf_serving_models import export_half_plus_two

    base = tmp_path_factory.mktemp("tfs") / "half_plus_two"
    export_half_plus_two(base / "00000123")
    return base


@pytest.fixture(scope="session")
def half_plus_three(tmp_path_factory):
    """TF Serving's half_plus_three (a TF1 graph whose signature gives x no shape) at
    BASE/00000123."""
    from tf_serving_models import export_half_plus_three

    base = tmp_path_factory.mktemp("tfs3") / "half_plus_three"
    export_half_plus_three(base / "00000123")
    return base


@pytest.fixture(scope="session")
def tf2_half_plus_two(tmp_path_factory):
    """The same predict function as a TF2 SavedModel at BASE/00000123."""
    from tf_serving_models import export_tf2_half_plus_two

    base = tmp_path_factory.mktemp("tfs2") / "tf2_half_plus_two"
    export_tf2_half_plus_two(base / "00000123")
    return base


@pytest.fixture(scope="session")
def new_port():
    """``new_port()`` is a free TCP port on 127.0.0.1 (for module-scoped servers)."""
    return free_port


def export_fake_decoder(version_dir):
    """A decoding signature as a third-party model might export it, with no caps in its graph:
    ``generate(prompt [None] string, max_length, num_samples, beam_size)`` runs a loop of
    ``max_length`` steps (a few microseconds each: 2**31 - 1 steps run for hours) and answers
    each prompt ``num_samples`` times with the steps it ran."""
    import tensorflow as tf

    class FakeDecoder(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompt"),
                                      tf.TensorSpec([], tf.int32, name="max_length"),
                                      tf.TensorSpec([], tf.int32, name="num_samples"),
                                      tf.TensorSpec([], tf.int32, name="beam_size")])
        def generate(self, prompt, max_length, num_samples, beam_size):
            steps, _ = tf.while_loop(lambda i, total: i < max_length,
                                     lambda i, total: (i + 1, total + i * beam_size),
                                     (tf.constant(0), tf.constant(0)))
            text = tf.repeat(prompt, num_samples)
            return {"text": text, "steps": tf.fill(tf.shape(text), steps)}

    module = FakeDecoder()
    tf.saved_model.save(module, str(version_dir),
                        signatures={"serving_default": module.generate})
    return version_dir


@pytest.fixture(scope="session")
def decoder_base(tmp_path_factory):
    """Base path of ``export_fake_decoder`` (version 1)."""
    base = tmp_path_factory.mktemp("decoder") / "decoder"
    export_fake_decoder(base / "1")
    return base
