"""pipelines/configs.py: every task's config dataclass, importable without TensorFlow, and the
choices it declares equal to what the TensorFlow-side modules accept."""

import subprocess
import sys

import pipelines
from pipelines import configs


def test_configs_import_without_tensorflow():
    # A fresh process: this test process may already hold TensorFlow.
    code = ("import sys, pipelines.configs as c; [cls() for cls in c.CONFIGS.values()]; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'tensorflow_text') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_every_task_has_its_config_here():
    assert set(configs.CONFIGS) == set(pipelines.TASKS)
    for name in pipelines.TASKS:
        assert pipelines.task(name).config_class is configs.CONFIGS[name]


def test_choices_match_the_implementations():
    from pipelines import language_model
    from seqtasks.data.conll import INVALID_TAG_POLICIES
    from seqtasks.layers.attention import ATTENTION_CHOICES
    from seqtasks.layers.char_features import CHAR_ENCODERS
    from seqtasks.models import seq2seq_config
    from seqtasks.training.scheduled_sampling import make_schedule

    assert configs.ATTENTION_CHOICES == ATTENTION_CHOICES == seq2seq_config.ATTENTION_CHOICES
    assert configs.CHAR_ENCODERS == CHAR_ENCODERS
    assert configs.INVALID_TAG_POLICIES == INVALID_TAG_POLICIES
    assert configs.WORD_SPLIT_NAMES == tuple(language_model.WORD_SPLITS)
    for schedule in seq2seq_config.SAMPLING_SCHEDULES:  # each name builds a schedule
        make_schedule(seq2seq_config.ScheduledSamplingConfig(sampling_schedule=schedule))
