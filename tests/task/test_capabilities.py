"""The Task contract holds the training hooks only; what some tasks add is a capability that
callers check with isinstance, and the CLI names the tasks that offer it when one is missing."""

import re

import pytest

from helpers import ROOT
from pipelines import TASKS, task
from seqtasks.task import Task
from seqtasks.task.capabilities import (DrawsComparison, FormatsMetrics, PlotsAttention,
                                        ProbesGradients)

CAPABILITIES = (FormatsMetrics, PlotsAttention, ProbesGradients, DrawsComparison)
OFFERED = {"sentiment": {FormatsMetrics, ProbesGradients}, "ner": {FormatsMetrics},
           "lm": {FormatsMetrics, ProbesGradients},
           "translate": {FormatsMetrics, PlotsAttention, ProbesGradients, DrawsComparison},
           # inherited from translate: its attention plot explains that there is no attention
           "autoencoder": {FormatsMetrics, PlotsAttention, DrawsComparison},
           "caption": {FormatsMetrics, PlotsAttention}}


def test_the_base_class_offers_no_capability_and_names_no_task():
    assert not any(isinstance(Task(), capability) for capability in CAPABILITIES)
    source = (ROOT / "seqtasks" / "task" / "base.py").read_text(encoding="utf-8")
    source = source[source.index("class Task("):]  # the module docstring's example aside
    assert [name for name in TASKS if re.search(rf"\b{name}\b", source)] == []


@pytest.mark.parametrize("name", list(TASKS))
def test_each_task_offers_what_it_can(name):
    assert {c for c in CAPABILITIES if isinstance(task(name), c)} == OFFERED[name]


def test_the_cli_names_the_tasks_that_draw_attention(sentiment_export, tmp_path, capsys):
    from pipelines.cli.main import main  # in process: a real process costs a TensorFlow import

    assert main(["attention", str(sentiment_export[0]), "--text", "a film", "--out",
                 str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and not (tmp_path / "a.png").exists()
    assert "is a sentiment model; attention plots need a model of a task that draws them " \
           "(translate, autoencoder, caption)" in err

