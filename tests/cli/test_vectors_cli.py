"""`seqtasks vectors list` and the quickstart's choice of vectors."""

import json

from helpers import run_cli

from seqtasks.text import named_vectors


def test_vectors_list_shows_every_name_and_whether_it_is_installed(capsys):
    from pipelines.cli.main import main

    result = run_cli("vectors", "list", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["name"] for row in rows] == list(named_vectors.NAMED_VECTORS)
    glove = rows[0]
    installed = named_vectors.installed_version(named_vectors.NAMED_VECTORS["glove-6b-50d"])
    assert glove["installed"] == (installed or "no")
    assert glove["dim"] == 50 and glove["words"] == 400_000 and "PDDL" in glove["license"]
    assert main(["vectors", "list"]) == 0  # the table in process (a process: a TensorFlow import)
    table = capsys.readouterr().out
    assert "glove-6b-50d" in table and "Pennington" in table


def test_quickstart_uses_glove_when_installed_and_the_bundled_sample_otherwise(monkeypatch):
    from pipelines import quickstart

    glove = named_vectors.NAMED_VECTORS["glove-6b-50d"]
    monkeypatch.setattr(named_vectors, "installed_version", lambda vectors: "1.0.0")
    assert quickstart.chosen_vectors()[0] == "glove-6b-50d"
    monkeypatch.setattr(named_vectors, "installed_version", lambda vectors: None)
    embeddings, described = quickstart.chosen_vectors()
    assert embeddings == str(quickstart.VECTORS) and glove.pip_command in described
