"""``seqtasks info`` (installation, one export) and ``seqtasks config`` (no TensorFlow)."""

import importlib.metadata
import json
import platform
import re
import shutil
import subprocess
import sys

from helpers import ROOT, run_cli


def test_info_reports_versions_extras_and_hardware_in_a_fresh_process(capsys):
    from pipelines.cli.main import main

    report = json.loads(run_cli("info", "--json").stdout)
    assert report["versions"]["tensorflow"] == importlib.metadata.version("tensorflow")
    assert report["versions"]["keras"] == importlib.metadata.version("keras")
    assert report["versions"]["tensorflow-text"] == importlib.metadata.version("tensorflow-text")
    assert report["versions"]["python"] == platform.python_version()
    assert set(report["extras"]) >= {"glove", "beam", "torch", "dev"}
    for state in report["extras"].values():
        assert state["installed"] == (not state["missing"])
    assert report["cpu_threads"] >= 1 and isinstance(report["gpus"], list)
    assert main(["info"]) == 0  # the text form in process (a real process: a TensorFlow import)
    text = capsys.readouterr().out
    assert f"tensorflow       {report['versions']['tensorflow']}" in text
    assert "gpus" in text and "cpu_threads" in text


def test_info_dir_says_what_the_export_says(sentiment_export, tmp_path):
    export_dir, _ = sentiment_export
    copy = tmp_path / "model" / "1"
    shutil.copytree(export_dir, copy)
    metadata = json.loads((copy / "seqtasks.json").read_text())
    report = json.loads(run_cli("info", copy.parent, "--json").stdout)
    assert report["export_dir"] == str(copy)
    assert (report["task"], report["kind"], report["version"]) == (
        "sentiment", metadata["kind"], metadata["version"])
    assert report["config"] == metadata["config"]
    assert report["data"] == metadata["metrics"]["data"]
    assert report["metrics"]["accuracy"] == metadata["metrics"]["accuracy"]
    assert report["model_card"] in (None, str(copy / "MODEL_CARD.md"))
    (copy / "MODEL_CARD.md").write_text("# card\n")
    text = run_cli("info", copy.parent).stdout
    assert re.search(r"^task\s+sentiment$", text, re.M)
    assert re.search(rf"^model_card\s+{re.escape(str(copy / 'MODEL_CARD.md'))}$", text, re.M)
    missing = run_cli("info", tmp_path / "nothing", check=False)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")
    assert "Traceback" not in missing.stderr


def test_config_answers_without_tensorflow_with_yaml_values_aligned_and_grouped():
    code = ("import sys, json\nfrom pipelines.cli.main import main\n"
            "assert main(['config', 'lm']) == 0\n"
            "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    *table, modules = out.strip().splitlines()
    assert json.loads(modules) == []
    assert table[0].startswith("# lm: ")
    assert "lm keys (this task only):" in table and "shared keys: training:" in table
    rows = {line.split()[0]: line for line in table if line.startswith("  ") and line[2] != " "}
    assert rows["bidirectional"].split()[1] == "false"
    assert rows["bptt_stride"].split()[1] == "none"
    assert rows["eos_at_line_end"].split()[1] == "true"
    assert rows["unknown_word"].split()[1] == "<unk>"
    assert not any(word in line.split()[1] for line in rows.values()
                   for word in ("True", "False", "None"))
    value_columns = {line.index(line.split()[1], len(line.split()[0]) + 2)
                     for line in rows.values()}
    assert len(value_columns) == 1  # every value starts in the same column
