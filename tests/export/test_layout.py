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


def strange_entries(root):
    """Entries that are not complete versions, of every kind list_versions skips."""
    for name in ("²", "٣", "-1", "1e3", "99999999999999999999", ".7.tmp", "8"):
        (root / name).mkdir(parents=True)
    for name in ("²", "-1", "99999999999999999999", ".7.tmp"):
        (root / name / "seqtasks.json").write_text("{}")
    (root / "9").write_text("a file")
    (root / "12").symlink_to(root / "missing")
    (root / "logs").mkdir()


def test_list_versions_skips_strange_entries_with_the_reason(tmp_path):
    from seqtasks.export.layout import MAX_VERSION, SEQTASKS_EXPORT, list_versions, version_number

    strange_entries(tmp_path)
    fake_export(tmp_path, 3)
    (tmp_path / "0003").mkdir()
    (tmp_path / "0003" / "seqtasks.json").write_text("{}")
    listing = list_versions(tmp_path, SEQTASKS_EXPORT)
    assert listing.versions == {3: tmp_path / "3"} and listing.error == ""
    reasons = {entry.name: (entry.version, entry.reason) for entry in listing.skipped}
    assert set(reasons) == {"²", "٣", "-1", "1e3", "99999999999999999999", ".7.tmp", "8", "9",
                            "12", "0003"}  # 'logs' is no attempt at a version
    assert reasons["²"] == (None, reasons["²"][1]) and "not ASCII" in reasons["²"][1]
    assert reasons["8"][0] == 8 and "no seqtasks.json" in reasons["8"][1]
    assert reasons["0003"][0] == 3 and "served from 3" in reasons["0003"][1]
    assert "symbolic link to nothing" in reasons["12"][1] and "not a folder" in reasons["9"][1]
    assert versions(tmp_path) == [3, 8, 9, 12]  # numbers taken: the next export is 13
    assert [version_number(n) for n in ("007", "²", "-1", str(MAX_VERSION),
                                        str(MAX_VERSION + 1))] == [7, None, None, MAX_VERSION,
                                                                   None]
    assert list_versions(tmp_path / "missing").error.endswith("base path not found")


def test_resolve_passes_over_strange_entries_and_explains_when_none_is_left(tmp_path):
    strange_entries(tmp_path)
    with pytest.raises(ModelError, match="no complete seqtasks export") as raised:
        resolve_export(tmp_path)
    assert "/8: skipped: no seqtasks.json" in str(raised.value)
    fake_export(tmp_path, 2)
    assert resolve_export(tmp_path) == tmp_path / "2"
    with pytest.raises(ModelError, match="/8: skipped: no seqtasks.json"):
        resolve_export(tmp_path, 8)


def test_predict_on_a_base_path_with_strange_entries_is_one_line_not_a_traceback(tmp_path,
                                                                                   capsys):
    from pipelines.cli.main import main  # in process: a real process costs a TensorFlow import

    strange_entries(tmp_path / "model")
    (tmp_path / "in.tsv").write_text("text\nfine\n")
    assert main(["predict", str(tmp_path / "model"), "--input", str(tmp_path / "in.tsv"),
                 "--output", str(tmp_path / "out.tsv")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "skipped" in lines[0]
