"""Task pipelines: one module per task, each a config dataclass and a ``Task`` (see
``seqtasks.task``) that the library's lifecycle trains.

``TASKS`` maps the task names used by the CLI and by ``seqtasks.json`` to their modules; each
module's ``TASK`` is its ``Task`` object.
"""

import importlib

TASKS = {"sentiment": "pipelines.sentiment", "ner": "pipelines.ner",
         "lm": "pipelines.language_model", "translate": "pipelines.translation",
         "autoencoder": "pipelines.autoencoder", "caption": "pipelines.caption"}


def task(name: str):
    """The ``Task`` object of the task called ``name``."""
    from seqtasks.errors import ConfigError

    if name not in TASKS:
        raise ConfigError(f"Unknown task '{name}'. Expected one of: {', '.join(TASKS)}")
    return importlib.import_module(TASKS[name]).TASK
