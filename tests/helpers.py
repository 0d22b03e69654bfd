"""Test helpers shared by every test module (in the spirit of KerasHub's TestCase)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def write(path, text: str | bytes):
    """Write ``text`` (UTF-8) or ``bytes`` to ``path``; returns ``path``."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_lines(path, lines: list[str], bad_line: int | None = None):
    """``lines`` as a UTF-8 file, one per line; with ``bad_line`` (1-based) a byte that is not
    UTF-8 starts that line. Returns ``path``."""
    data = "".join(f"{line}\n" for line in lines).encode()
    if bad_line is not None:
        start = len("".join(f"{line}\n" for line in lines[:bad_line - 1]).encode())
        data = data[:start] + b"\xff" + data[start:]
    path.write_bytes(data)
    return path


def tiny_sentiment_config(**overrides):
    from pipelines.sentiment import SentimentConfig
    from seqtasks import config as config_lib

    base = SentimentConfig(embedding_dim=16, units=16, epochs=2, batch_size=32, max_length=40,
                           early_stopping_patience=2, dropout=0.3, min_count=1, seed=7)
    return config_lib.replace(base, **overrides)


def tiny_ner_config(**overrides):
    """An NER config small enough to train in seconds on the bundled sample."""
    from pipelines.ner import NerConfig
    from seqtasks import config as config_lib

    base = NerConfig(embedding_dim=16, units=16, char_embedding_dim=8, char_units=8,
                     casing_dim=4, epochs=8, batch_size=8, learning_rate=0.03, seed=7,
                     early_stopping_patience=8)
    return config_lib.replace(base, **overrides)


def task_data(task, config, train, valid, work_dir, **options):
    """A task's data as its training lifecycle prepares it (vocabularies saved in ``work_dir``)."""
    from seqtasks.training.prepared import prepare_data
    from seqtasks.training.run_dir import RunDir

    task.check(config)
    run = RunDir(work_dir)
    run.resume.mkdir(parents=True, exist_ok=True)
    return prepare_data(task, config, task.read(config, train, valid, **options), run,
                        resumed=False)


def run_cli(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``seqtasks ARGS`` in a fresh process, as a user would."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"seqtasks {' '.join(map(str, args))} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def run_fresh_python(code: str, timeout: float = 300) -> str:
    """Run ``code`` in a new interpreter; return its stdout (raises with stderr on failure)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=timeout, env=env, cwd="/")
    if result.returncode != 0:
        raise AssertionError(f"fresh process failed:\n{result.stderr[-4000:]}")
    return result.stdout


def serve_in_fresh_process(export_dir, texts: list[str], signature: str = "serving_default"
                           ) -> dict[str, np.ndarray]:
    """Load the SavedModel with plain TensorFlow (+ tensorflow_text ops) in a new process."""
    out = run_fresh_python(f"""
        import json, sys
        import tensorflow as tf
        import tensorflow_text  # registers tokenizer ops
        model = tf.saved_model.load({str(export_dir)!r})
        result = model.signatures[{signature!r}](text=tf.constant({texts!r}))
        print(json.dumps({{k: v.numpy().tolist() for k, v in result.items()}},
                         default=lambda b: b.decode("utf-8")))
    """)
    return {k: np.array(v) for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def assert_layer_roundtrip(layer, inputs, tmp_path) -> None:
    """get_config -> from_config gives the same layer; a model around it saves and reloads."""
    import keras

    expected = keras.ops.convert_to_numpy(layer(inputs))
    clone = layer.__class__.from_config(layer.get_config())
    clone(inputs)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(inputs)), expected, atol=1e-6)

    x = keras.Input(shape=inputs.shape[1:], dtype=str(inputs.dtype))
    model = keras.Model(x, layer(x))
    path = tmp_path / "layer_roundtrip.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(inputs)), expected, atol=1e-6)



def run_signatures_in_fresh_process(calls: list[tuple]) -> list[dict[str, np.ndarray]]:
    """Call SavedModel signatures in one new process (plain TensorFlow + tensorflow_text ops).
    Each call is ``(export_dir, signature, inputs)``; ``inputs`` maps an input name to
    ``(value, dtype name)``, e.g. ``{"prompt": (["a"], "string"), "max_length": (20, "int32")}``.
    Returns each call's outputs, in order."""
    out = run_fresh_python(f"""
        import json
        import tensorflow as tf
        import tensorflow_text  # registers tokenizer ops
        results = []
        for export_dir, signature, inputs in {[(str(d), s, i) for d, s, i in calls]!r}:
            function = tf.saved_model.load(export_dir).signatures[signature]
            result = function(**{{name: tf.constant(value, getattr(tf, dtype))
                                  for name, (value, dtype) in inputs.items()}})
            results.append({{k: v.numpy().tolist() for k, v in result.items()}})
        print(json.dumps(results, default=lambda b: b.decode("utf-8")))
    """)
    return [{k: np.array(v) for k, v in result.items()}
            for result in json.loads(out.strip().splitlines()[-1])]


def tiny_translation_config(config_class=None, **overrides):
    """A translation (or autoencoder) config small enough to train in seconds."""
    from pipelines.translation import TranslationConfig
    from seqtasks import config as config_lib

    base = (config_class or TranslationConfig)(
        embedding_dim=16, units=16, attention_units=8, max_vocab_size=300, epochs=1,
        batch_size=32, max_length=24, early_stopping_patience=1, seed=7)
    return config_lib.replace(base, **overrides)


def assert_signatures_match_fresh_process(functions: dict, export_dir, calls: list[tuple]
                                          ) -> list[dict[str, np.ndarray]]:
    """Call the in-memory serving ``functions`` and the export's signatures reloaded in a fresh
    process with the same ``calls`` (``(signature, inputs)`` as ``run_signatures_in_fresh_process``
    takes them); assert equal strings and numbers. Returns the in-memory outputs."""
    import tensorflow as tf

    in_memory = [{k: v.numpy() for k, v in functions[name](
        **{key: tf.constant(value, getattr(tf, dtype)) for key, (value, dtype) in inputs.items()}
    ).items()} for name, inputs in calls]
    served = run_signatures_in_fresh_process([(export_dir, *call) for call in calls])
    for expected, got in zip(in_memory, served):
        assert set(expected) == set(got)
        for key, value in expected.items():
            if value.dtype == object:
                assert [v.decode() for v in value.ravel()] == list(got[key].ravel())
            else:
                np.testing.assert_allclose(got[key], value, atol=1e-5)
    return in_memory


def wait_until_answering(process: subprocess.Popen, url: str, seconds: float = 120) -> None:
    """Wait until a server started as ``process`` answers ``GET url`` with 200; fail with its
    output if it exits first or does not answer within ``seconds``."""
    import time

    import httpx2 as httpx

    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "server did not start"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)


def export_untrained_translation(config, out_dir, work_dir, train=None, valid=None):
    """An export of a freshly initialised translation model (trained on nothing: the bundled
    sample only sets its vocabularies), and its in-memory serving functions."""
    from pipelines import translation
    from seqtasks.training import lifecycle

    train = train or DATA / "translation" / "train.tsv"
    valid = valid or DATA / "translation" / "valid.tsv"
    data = task_data(translation.TASK, config, train, valid, work_dir)
    model = translation.TASK.build(config, data).model
    functions = translation.serving_functions(model, data, config)
    export_dir = lifecycle.export(translation.TASK, config, model, data, out_dir, {}, {},
                                  work_dir, functions)
    return export_dir, functions
