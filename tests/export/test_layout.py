import json

import pytest

from seqtasks.errors import ModelError
from seqtasks.export.layout import resolve_export, versions


def fake_export(root, version):
    (root / str(version)).mkdir(parents=True)
    (root / str(version) / "seqtasks.json").write_text(json.dumps({"task": "sentiment"}))


def test_resolve_picks_newest_or_requested_version(tmp_path):
    for v in (1, 2, 10):
        fake_export(tmp_path, v)
    (tmp_path / "logs").mkdir()
    assert versions(tmp_path) == [1, 2, 10]
    assert resolve_export(tmp_path) == tmp_path / "10"
    assert resolve_export(tmp_path, 2) == tmp_path / "2"
    assert resolve_export(tmp_path / "1") == tmp_path / "1"
    with pytest.raises(ModelError, match="no version 3 \\(found: 1, 2, 10\\)"):
        resolve_export(tmp_path, 3)


def test_not_an_export(tmp_path):
    with pytest.raises(ModelError, match="not a seqtasks export"):
        resolve_export(tmp_path)
    with pytest.raises(ModelError, match="model directory not found"):
        resolve_export(tmp_path / "missing")
