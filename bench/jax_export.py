"""Keras 3 JAX-backend training carried to a CPU-servable TensorFlow SavedModel of this project.

``bench/lm_throughput.py`` times stock Keras layers trained on the JAX backend (``keras_jax``).
This checks the rest of that lever: that weights trained there serve from the language-model
pipeline's own TensorFlow model. Steps:

1. in a fresh process of ``--jax-python`` (``KERAS_BACKEND=jax``): lm_throughput's stock model
   of ``--shape`` (``Embedding`` -> ``LSTM`` x layers -> ``Dense``) trains ``--windows`` windows
   of that benchmark's ids with ``fit`` (timed after one untimed window), saves its weights
   (``.weights.h5``: the format is the same on every backend) and its logits for a probe window;
2. here, on the TensorFlow backend: the same stock model loads the weights, and the pipeline's
   step model (``pipelines.language_model.build``, same shape, ``rnn_kernel=fused``) takes them
   layer by layer (the same Keras layouts: embedding, each LSTM's kernel / recurrent kernel /
   bias, the output layer); it is saved as a SavedModel (ids in, logits of a new text out), whose
   op types are scanned for cuDNN-only ops;
3. in a fresh TensorFlow process: the SavedModel is loaded and run on the probe window.

Reported: JAX training tokens/s, the loss of the probe window, the largest absolute logit
difference of the TensorFlow model and of the reloaded SavedModel against JAX's, and the
``CudnnRNN*`` op types in the SavedModel (none expected).

Run by hand from the repository root (about a minute):

    python bench/jax_export.py --jax-python /path/to/jax-venv/bin/python [--windows 3]

Writes bench/results/jax-export.json (also printed as one JSON line, the last line of stdout).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import common
import lm_throughput


def jax_train(spec: dict) -> dict:
    """Child under KERAS_BACKEND=jax: train the stock model, save weights and probe logits."""
    import keras

    shape = lm_throughput.SHAPES[spec["shape"]]
    ids = lm_throughput.token_ids(shape, spec["windows"] + 1, synthetic=True)
    model = lm_throughput.stock_model(shape, "lstm")
    x, y = lm_throughput.window_arrays(ids, shape)
    batch = shape["batch"]
    model.fit(x[:batch], y[:batch], batch_size=batch, verbose=0, shuffle=False)  # compiles
    start = time.perf_counter()
    model.fit(x[batch:], y[batch:], batch_size=batch, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    work = Path(spec["work"])
    model.save_weights(work / "stock.weights.h5")
    probe = x[:batch]
    np.save(work / "probe_ids.npy", probe)
    np.save(work / "jax_logits.npy", np.asarray(model.predict_on_batch(probe)))
    return {"backend": keras.backend.backend(),
            "tokens_per_second": spec["windows"] * batch * shape["steps"] / seconds,
            "probe_loss": float(model.evaluate(probe, y[:batch], batch_size=batch, verbose=0))}


def reload_and_run(spec: dict) -> dict:
    """Child on the TensorFlow backend: the SavedModel alone on the probe window."""
    import tensorflow as tf

    work = Path(spec["work"])
    serve = tf.saved_model.load(str(work / "savedmodel")).signatures["serving_default"]
    logits = serve(ids=tf.constant(np.load(work / "probe_ids.npy")))["logits"].numpy()
    return {"max_abs_logit_difference":
            float(np.abs(logits - np.load(work / "jax_logits.npy")).max())}


def pipeline_model(shape: dict, work: Path) -> tuple[float, set[str]]:
    """The JAX weights in the pipeline's step model, saved as a SavedModel under ``work``.
    Returns its largest logit difference against JAX on the probe window and its op types."""
    import keras
    import tensorflow as tf

    from pipelines import language_model as lm
    from seqtasks import config as config_lib
    from seqtasks.export.savedmodel import op_types

    stock = lm_throughput.stock_model(shape, "lstm")
    stock.load_weights(work / "stock.weights.h5")
    config = config_lib.replace(
        lm.LanguageModelConfig(), cell="lstm", embedding_dim=shape["embedding_dim"],
        units=shape["units"], num_layers=shape["num_layers"], tie_embeddings=False,
        dropout=0.0, rnn_kernel="fused")
    model = lm.build(config, shape["vocab"])
    ours = [model.get_layer("embedding"),
            *[layer for layer in model.layers if isinstance(layer, keras.layers.RNN)],
            model.get_layer("output")]
    theirs = [layer for layer in stock.layers if layer.weights]
    assert len(ours) == len(theirs), (ours, theirs)
    for target, source in zip(ours, theirs):
        target.set_weights(source.get_weights())
    sizes = lm.state_sizes(config)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="ids")])
    def serve(ids):
        states = [tf.zeros([tf.shape(ids)[0], size]) for size in sizes]
        return {"logits": model([ids, *states], training=False)[0]}

    probe = np.load(work / "probe_ids.npy")
    difference = float(np.abs(serve(tf.constant(probe))["logits"].numpy()
                              - np.load(work / "jax_logits.npy")).max())
    module = tf.Module()
    module.model = model
    tf.saved_model.save(module, str(work / "savedmodel"), signatures={"serving_default": serve})
    return difference, op_types(work / "savedmodel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--jax-python", metavar="PY", help="a Python with jax and keras")
    parser.add_argument("--shape", choices=lm_throughput.SHAPES, default="char")
    parser.add_argument("--windows", type=int, default=3, help="timed JAX training windows")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    common.add_arguments(parser, config=False, out=False, child=True)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if common.answer_child(args, lambda spec: (jax_train if spec["role"] == "train"
                                               else reload_and_run)(spec)):
        return
    if not args.jax_python:
        parser.error("--jax-python PY is required (an interpreter with jax and keras)")
    if min(args.windows, args.threads) < 1:
        parser.error("--windows and --threads must be >= 1")
    start = common.started()
    shape = lm_throughput.SHAPES[args.shape]
    with tempfile.TemporaryDirectory() as work:
        spec = {"shape": args.shape, "windows": args.windows, "work": work}
        jax_env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
                   "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen=true "
                                f"intra_op_parallelism_threads={args.threads}"}
        trained = common.child_result(__file__, {**spec, "role": "train"}, jax_env,
                                      args.jax_python, label="JAX training")
        common.log(f"JAX: {trained['tokens_per_second']:,.0f} tokens/s, probe loss "
                   f"{trained['probe_loss']:.4f}")
        difference, types = pipeline_model(shape, Path(work))
        reloaded = common.child_result(__file__, {**spec, "role": "reload"},
                                       label="SavedModel reload")
    cudnn = sorted(t for t in types if t.startswith("Cudnn"))
    common.log(f"pipeline model vs JAX: {difference:.2e}; reloaded SavedModel vs JAX: "
               f"{reloaded['max_abs_logit_difference']:.2e}; cuDNN ops: {cudnn or 'none'}")
    common.write_result("jax-export", {
        "benchmark": "jax_export", "shape": {args.shape: shape}, "cell": "lstm",
        "training": lm_throughput.TRAINING, "jax_windows": args.windows,
        "jax": f"{args.jax_python} (jax {lm_throughput.jax_version(args.jax_python)})",
        "jax_training": trained,
        "pipeline_model_max_abs_logit_difference": difference,
        "reloaded_savedmodel_max_abs_logit_difference": reloaded["max_abs_logit_difference"],
        "cudnn_op_types_in_savedmodel": cudnn,
        "savedmodel_op_types": len(types),
    }, args.results, start)


if __name__ == "__main__":
    main()
