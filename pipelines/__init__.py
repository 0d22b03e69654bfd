"""Task pipelines: one module per task, each a config dataclass plus train / evaluate / export.

``TASKS`` maps the task names used by the CLI and by ``seqtasks.json`` to their modules.
"""

import importlib

TASK_MODULES = {"sentiment": "pipelines.sentiment", "ner": "pipelines.ner",
                "lm": "pipelines.language_model", "translate": "pipelines.translation",
                "autoencoder": "pipelines.autoencoder", "caption": "pipelines.caption"}


def task_module(task: str):
    from seqtasks.errors import ConfigError

    if task not in TASK_MODULES:
        raise ConfigError(f"Unknown task '{task}'. Expected one of: {', '.join(TASK_MODULES)}")
    return importlib.import_module(TASK_MODULES[task])
