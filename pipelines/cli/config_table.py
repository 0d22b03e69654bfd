"""``seqtasks config TASK``: a task's config keys as an aligned table, grouped by where each key
comes from (the task's own keys, then each shared section), values written as YAML files and
``--set`` take them (``true``, ``none``)."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap

WIDTH = 100
# What each shared config section is about (the class name is shown for any other).
SECTIONS = {"TrainConfig": "training", "RecurrentConfig": "recurrent stack",
            "TextConfig": "tokens and vocabulary", "TransferConfig": "transfer learning",
            "PretrainedConfig": "pretrained word vectors",
            "PretrainedPairConfig": "pretrained word vectors of each side",
            "Seq2SeqConfig": "encoder-decoder and attention", "BeamConfig": "beam search",
            "DecodingConfig": "output length", "ScheduledSamplingConfig": "scheduled sampling",
            "TranslationConfig": "as translate"}


def yaml_scalar(value) -> str:
    """``value`` as ``--set`` and a YAML config take it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '""' if value == "" else value
    return str(value)


def _sections(task_name: str, config_class) -> list[tuple[str, list[dataclasses.Field]]]:
    """(title, fields) per class that introduces keys: the task's class first, then its bases in
    the order they are listed. A key a task redeclares (a new default) stays in its section."""
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    owner = {}
    for klass in reversed(config_class.__mro__):  # the most basic declaration wins
        for name in getattr(klass, "__annotations__", {}):
            if name in fields and name not in owner:
                owner[name] = klass
    order = [config_class] + [k for k in config_class.__mro__[1:] if k in owner.values()]
    sections = []
    for klass in order:
        names = [name for name in fields if owner[name] is klass]
        if not names:
            continue
        if klass is config_class:
            title = f"{task_name} keys (this task only)"
        else:
            title = f"shared keys: {SECTIONS.get(klass.__name__, klass.__name__)}"
        sections.append((title, [fields[name] for name in names]))
    return sections


def describe(task_name: str, config_class) -> str:
    """The table ``seqtasks config TASK`` prints."""
    sections = _sections(task_name, config_class)
    everything = [field for _, fields in sections for field in fields]
    key_width = max(len(field.name) for field in everything)
    value_width = min(max(len(yaml_scalar(field.default)) for field in everything), 16)
    width = min(WIDTH, max(shutil.get_terminal_size((WIDTH, 24)).columns, 60))
    indent = " " * (2 + key_width + 2 + value_width + 2)
    lines = [f"# {task_name}: {len(everything)} config keys with their defaults. Set them with "
             f"--set KEY=VALUE, or in a YAML file (--config FILE; 'seqtasks config {task_name} "
             "--yaml' writes one with every default)."]
    lines = textwrap.wrap(lines[0], width, subsequent_indent="# ")
    for title, fields in sections:
        lines += ["", f"{title}:"]
        for field in fields:
            choices = field.metadata.get("choices")
            about = field.metadata.get("help", "")
            if choices:
                about = f"{about} (one of: {', '.join(map(str, choices))})"
            head = f"  {field.name:<{key_width}}  {yaml_scalar(field.default):<{value_width}}  "
            wrapped = textwrap.wrap(about, width - len(indent)) or [""]
            lines.append(head + wrapped[0])
            lines += [indent + more for more in wrapped[1:]]
    return "\n".join(lines)
