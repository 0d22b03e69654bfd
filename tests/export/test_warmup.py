"""seqtasks/export/warmup.py: every export carries ``assets.extra/tf_serving_warmup_requests`` in
TF Serving's format (one PredictLog per signature), which the server replays before the version
is served, through the callables its requests then use; a record the export would refuse is left
out, never written."""

from __future__ import annotations

import json

import numpy as np
import pytest


def signature_names(export_dir) -> set[str]:
    from seqtasks.export.warmup import _signature_defs

    return set(_signature_defs(export_dir))


def test_an_export_holds_one_warmup_record_per_signature(sentiment_export):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    from seqtasks.export.warmup import WARMUP_FILE, WARMUP_TEXTS

    export_dir = sentiment_export[0]
    path = export_dir / WARMUP_FILE
    # read as TF Serving reads it: a TFRecord of PredictionLog
    logs = [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(str(path))]
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * len(logs)
    requests = [log.predict_log.request for log in logs]
    assert sorted(r.model_spec.signature_name for r in requests) == sorted(
        signature_names(export_dir))
    texts = tf.make_ndarray(requests[0].inputs["text"])
    assert [t.decode() for t in texts] == list(WARMUP_TEXTS)
    warmup = json.loads((export_dir / "seqtasks.json").read_text())["warmup"]
    assert warmup == {"file": str(WARMUP_FILE), "records": len(logs),
                      "signatures": sorted(signature_names(export_dir)), "skipped": {}}


def test_the_server_replays_every_record_before_serving(sentiment_export):
    from prometheus_client.parser import text_string_to_metric_families
    from starlette.testclient import TestClient

    from seqtasks.export.warmup import read_warmup_requests
    from seqtasks.serving.app import create_app
    from seqtasks.serving.manager import ModelManager, ModelSpec

    export_dir = sentiment_export[0]
    records = len(read_warmup_requests(export_dir))
    manager = ModelManager([ModelSpec("sentiment", export_dir.parent)])
    app = create_app(manager)
    manager.load_initial()  # as seqtasks serve does: the app's metrics count the first load
    loaded = manager.models["sentiment"].loaded[int(export_dir.name)]
    assert loaded.warmup_records == records
    warmed = {name: signature.timeouts_ms for name, signature in loaded.signatures.items()}
    assert all(warmed.values())  # the callables requests use (the server's deadline) are made
    with TestClient(app) as client:
        text = client.get("/monitoring/prometheus/metrics").text
        read = [sample.value for family in text_string_to_metric_families(text)
                if family.name == ":tensorflow:serving:model_warmup_records_read"
                for sample in family.samples
                if sample.labels.get("status") == "OK" and sample.name.endswith("_total")]
        assert read == [records]
        answer = client.post("/v1/models/sentiment:predict",
                             json={"instances": ["a gorgeous , witty film"]})
        assert answer.status_code == 200, answer.text
    # the first request ran on a warmed callable: it made (and optimised) no new one
    assert {name: signature.timeouts_ms for name, signature in loaded.signatures.items()} \
        == warmed


@pytest.fixture(scope="module")
def many_inputs_export(tmp_path_factory):
    """A SavedModel whose signatures take every input class the warmup fills, and one that
    fails on text (its record must be left out, or the server would refuse the version)."""
    import tensorflow as tf

    class Many(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                      tf.TensorSpec([], tf.int32, name="beam_size"),
                                      tf.TensorSpec([], tf.float32, name="penalty"),
                                      tf.TensorSpec([], tf.bool, name="flag")])
        def scalars(self, text, beam_size, penalty, flag):
            tf.debugging.assert_positive(beam_size)
            return {"n": tf.strings.length(text) * beam_size,
                    "p": tf.fill(tf.shape(text), penalty), "f": tf.fill(tf.shape(text), flag)}

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")])
        def tokens(self, tokens):
            return {"count": tf.reduce_sum(tf.cast(tokens != "", tf.int32), axis=1)}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def dense(self, x):
            return {"y": tf.reduce_sum(x, axis=1)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="number")])
        def parse(self, number):  # fails on text that is not a number
            return {"value": tf.strings.to_number(number)}

        @tf.function(input_signature=[tf.TensorSpec([2, 3], tf.string, name="grid")])
        def grid(self, grid):  # no example fits a fixed string shape
            return {"grid": grid}

    module = Many()
    root = tmp_path_factory.mktemp("many") / "many"
    tf.saved_model.save(module, str(root / "1"), signatures={
        "serving_default": module.scalars, "tokens": module.tokens, "dense": module.dense,
        "parse": module.parse, "grid": module.grid})
    return root / "1"


def test_records_are_written_only_for_inputs_the_export_accepts(many_inputs_export, capsys):
    import tensorflow as tf

    from seqtasks.export.warmup import read_warmup_requests, write_warmup_requests
    from seqtasks.serving.loaded import LoadedVersion
    from seqtasks.serving.warmup import replay_warmup

    written = write_warmup_requests(many_inputs_export, ["one two three", "four"])
    assert written["signatures"] == ["dense", "serving_default", "tokens"]
    assert sorted(written["skipped"]) == ["grid", "parse"]
    assert "string input of shape [2, 3]" in written["skipped"]["grid"]
    assert "no warmup record for signature 'parse'" in capsys.readouterr().err
    requests = {log.predict_log.request.model_spec.signature_name: log.predict_log.request
                for log in read_warmup_requests(many_inputs_export)}
    arrays = {name: {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
              for name, request in requests.items()}
    assert arrays["tokens"]["tokens"].tolist() == [[b"one", b"two", b"three"],
                                                   [b"four", b"", b""]]
    assert arrays["dense"]["x"].shape == (2, 4) and not arrays["dense"]["x"].any()
    scalars = arrays["serving_default"]
    assert (scalars["beam_size"], scalars["penalty"], scalars["flag"]) == (1, 1.0, False)
    assert scalars["beam_size"].dtype == np.int32 and scalars["text"].shape == (2,)
    # the server's own replay takes every record
    assert replay_warmup(LoadedVersion.load(many_inputs_export, 1)) == 3


def test_no_examples_is_refused(many_inputs_export):
    from seqtasks.errors import ModelError
    from seqtasks.export.warmup import write_warmup_requests

    with pytest.raises(ModelError, match="no warmup examples"):
        write_warmup_requests(many_inputs_export, [])
