"""The Apache Beam pipeline on the DirectRunner: every record predicted once, with its fields,
exactly as the Python API predicts it. Skipped where apache-beam is not installed (it is an
optional extra: ``pip install 'seqtasks[beam]'``)."""

import json

import numpy as np
import pandas as pd
import pytest

beam = pytest.importorskip("apache_beam")

import seqtasks  # noqa: E402
from helpers import DATA  # noqa: E402
from seqtasks.integrations.apache_beam import run  # noqa: E402

VALID = DATA / "sentiment" / "valid.tsv"


def test_beam_pipeline_predicts_every_record_like_the_api(sentiment_export, tmp_path):
    frame = pd.read_csv(VALID, sep="\t", quoting=3, dtype=str, keep_default_na=False)
    frame.insert(0, "id", range(len(frame)))
    frame.to_json(tmp_path / "in.jsonl", orient="records", lines=True)
    run([str(sentiment_export[0].parent), "--input", str(tmp_path / "in.jsonl"),
         "--output", str(tmp_path / "out" / "predictions"), "--max-batch-size", "32",
         "--runner", "DirectRunner"])
    records = [json.loads(line) for path in sorted((tmp_path / "out").glob("predictions-*.jsonl"))
               for line in path.read_text().splitlines()]
    records.sort(key=lambda record: record["id"])
    assert [r["id"] for r in records] == list(range(len(frame)))
    assert [r["text"] for r in records] == frame.text.tolist()
    assert [r["label"] for r in records] == frame.label.tolist()  # input fields kept
    expected = seqtasks.load(sentiment_export[0]).predict(frame.text.tolist())
    assert [r["prediction"]["label"] for r in records] == [e["label"] for e in expected]
    np.testing.assert_allclose([r["prediction"]["probabilities"] for r in records],
                               [e["probabilities"] for e in expected], atol=1e-6)


def test_records_without_the_text_field_fail_with_a_clear_error(sentiment_export, tmp_path):
    (tmp_path / "in.jsonl").write_text('{"id": 1, "review": "fine"}\n')
    with pytest.raises(Exception, match="has no field 'text'"):  # Beam wraps worker errors
        run([str(sentiment_export[0]), "--input", str(tmp_path / "in.jsonl"),
             "--output", str(tmp_path / "out" / "p"), "--runner", "DirectRunner"])
