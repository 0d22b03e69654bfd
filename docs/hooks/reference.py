"""mkdocs hook: the reference pages generated from the code at build time, so they cannot drift.

``on_files`` adds three pages that exist only in memory (nothing generated is committed):

- ``reference/cli.md``: every ``seqtasks`` subcommand and option, from the argparse parser
  (``pipelines.cli.args.build_parser``), and ``seqtasks-model-server``'s flags;
- ``reference/config.md``: every config key of every task, from the config dataclasses' field
  metadata, grouped as ``seqtasks config TASK`` groups them;
- ``reference/export-format.md``: the export layout (from ``seqtasks.export``'s constants) and each
  task's signatures, read from the pipelines' source (``export_signatures``).

Nothing here imports TensorFlow: the parser, the configs and the layout module are TF-free.
tests/docs/test_reference.py calls the ``*_markdown`` functions directly.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import os
import re
import sys
from pathlib import Path

HOOK_FILE = Path(__file__).resolve()
ROOT = HOOK_FILE.parents[2]
for path in (ROOT, Path(__file__).resolve().parent):  # the repo's packages; export_signatures
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import export_signatures  # noqa: E402

PAGES = {"reference/cli.md": "cli_markdown", "reference/config.md": "config_markdown",
         "reference/export-format.md": "export_format_markdown"}
USAGE_COLUMNS = "92"  # argparse wraps usage lines to $COLUMNS: the code block's width


CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")


def prose(text) -> str:
    """Plain text from the code (help, descriptions, docstrings) as Markdown: ``<``, ``>`` and
    ``&`` escaped outside code spans, so ``--output/<version>/`` is not read as an HTML tag."""
    text, parts, start = str(text), [], 0
    for match in CODE_SPAN.finditer(text):
        parts += [html.escape(text[start:match.start()], quote=False), match.group(0)]
        start = match.end()
    return "".join(parts + [html.escape(text[start:], quote=False)])


def cell(text) -> str:
    """``text`` safe inside a Markdown table cell: no line breaks, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text) -> str:
    return f"`{text}`" if text not in ("", None) else ""


# --- CLI ---------------------------------------------------------------------------------------

def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:  # argparse's own expansion: %(default)s, %(prog)s, %%
        text = text % {**vars(action), "prog": prog}
    return text


def _default(action: argparse.Action) -> str:
    if action.default is argparse.SUPPRESS:  # --version: nothing to default
        return ""
    if action.nargs == 0:  # store_true / version: a flag
        return "off" if action.default in (False, None) else code(action.default)
    if action.required or action.default in (None, argparse.SUPPRESS, [], ""):
        return "required" if action.required else ""
    return code(action.default)


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return code(action.metavar or action.dest)
    metavar = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
    if action.nargs in ("+", "*"):
        metavar += " ..."
    return ", ".join(code(option + (metavar if option == action.option_strings[-1] else ""))
                     for option in action.option_strings)


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                yield name, subparser, helps.get(name, "")


def _arguments_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | meaning | default | choices |", "| --- | --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        choices = ", ".join(code(c) for c in action.choices) if action.choices else ""
        rows.append(f"| {cell(_argument(action))} | {cell(prose(_help(action, parser.prog)))} | "
                    f"{cell(_default(action))} | {cell(choices)} |")
    return rows if len(rows) > 2 else []


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line as ``--help`` prints it, wrapped to the code block's width (argparse reads
    $COLUMNS; the caller's value is put back)."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = USAGE_COLUMNS
    try:
        return parser.format_usage().strip()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _command_section(parser: argparse.ArgumentParser, summary: str) -> list[str]:
    lines = [f"## {parser.prog}", ""]
    # `seqtasks vectors list`, `seqtasks pretrain vectors`: a one-choice positional word is
    # part of the command's name; it gets its own anchor.
    for action in parser._actions:
        if not action.option_strings and action.choices and len(action.choices) == 1 \
                and not isinstance(action, argparse._SubParsersAction):
            anchor = f"{parser.prog} {next(iter(action.choices))}".replace(" ", "-")
            lines += [f'<a id="{anchor}"></a>', ""]
    if summary:
        lines += [prose(summary[0].upper() + summary[1:]) + ".", ""]
    if parser.description and parser.description != summary:
        lines += [prose(parser.description), ""]
    lines += ["```text", _usage(parser), "```", ""]
    table = _arguments_table(parser)
    lines += table + ([""] if table else [])
    if parser.epilog:
        lines += [prose(parser.epilog.replace("\n", " ")), ""]
    return lines


def _walk(parser: argparse.ArgumentParser, summary: str = ""):
    yield parser, summary
    for _, subparser, helped in _subparsers(parser):
        yield from _walk(subparser, helped)


def model_server_lines() -> list[str]:
    from seqtasks.serving.model_server_flags import HELP, NOT_IMPLEMENTED, ModelServerFlags

    defaults = ModelServerFlags()
    lines = ["## seqtasks-model-server", "",
             "The same server behind `tensorflow_model_server`'s command line: flag names, "
             "defaults and meanings are TensorFlow Serving's, so a deployment swaps the binary's "
             "name and nothing else. `--flag=value` and `--flag value` both work; a boolean flag "
             "alone means true. See [TensorFlow Serving](../serving/tensorflow-serving.md).", "",
             "```text", "seqtasks-model-server --port=8500 --rest_api_port=8501 "
             "--model_name=NAME --model_base_path=/models/NAME", "```", "",
             "| flag | meaning | default |", "| --- | --- | --- |"]
    for name, text in HELP.items():
        default = getattr(defaults, name)
        shown = str(default).lower() if isinstance(default, bool) else repr(default)
        lines.append(f"| `--{name}` | {cell(prose(text))} | `{shown}` |")
    lines += ["", "Flags of `tensorflow_model_server` this server refuses by name (an error at "
              "start, never ignored): " + ", ".join(f"`--{n}`" for n in NOT_IMPLEMENTED) + ".",
              ""]
    return lines


def cli_markdown() -> str:
    from pipelines.cli.args import build_parser

    lines = ["# Command line", "",
             "Generated from the `seqtasks` argument parser when the site is built: every "
             "subcommand and option, with its default and choices. `seqtasks COMMAND --help` "
             "prints the same. Config keys (`--set KEY=VALUE`) are in "
             "[Config keys](config.md).", ""]
    for parser, summary in _walk(build_parser()):
        lines += _command_section(parser, summary)
    return "\n".join(lines + model_server_lines())


# --- Config ------------------------------------------------------------------------------------

# The same grouping `seqtasks config TASK` prints (reused, not copied).
from pipelines.cli.config_table import _sections, yaml_scalar  # noqa: E402

# Old spellings others link to (`config.md#translation`): an extra anchor per task.
TASK_ALIASES = {"translate": "translation", "lm": "language-model"}


def _bounds(field: dataclasses.Field) -> str:
    bounds = dict(field.metadata.get("bounds", {}))
    if "minimum" in bounds and "maximum" in bounds:
        return f"{bounds['minimum']} to {bounds['maximum']}"
    signs = {"minimum": ">=", "maximum": "<=", "below": "<", "above": ">"}
    return ", ".join(f"{signs[name]} {value}" for name, value in bounds.items())


def config_markdown() -> str:
    from pipelines.configs import CONFIGS

    lines = ["# Config keys", "",
             "Generated from the config dataclasses when the site is built. Set a key with "
             "`--set KEY=VALUE`, in a YAML or JSON file (`--config FILE`), or in Python; unknown "
             "keys and values outside a key's choices or range are errors. `seqtasks config TASK` "
             "prints the same table, and `seqtasks config TASK --yaml` a file with every default. "
             "Values are written as YAML and `--set` take them (`true`, `none`).", ""]
    for task, config_class in CONFIGS.items():
        sections = _sections(task, config_class)
        count = sum(len(fields) for _, fields in sections)
        lines += [f"## {task}", ""]
        if task in TASK_ALIASES:
            lines += [f'<a id="{TASK_ALIASES[task]}"></a>', ""]
        lines += [f"`{config_class.__name__}`: {count} keys.", ""]
        for title, fields in sections:
            lines += [f"**{title[0].upper() + title[1:]}**", "",
                      "| key | type | default | choices or range | meaning |",
                      "| --- | --- | --- | --- | --- |"]
            for field in fields:
                choices = field.metadata.get("choices")
                allowed = ", ".join(code(c) for c in choices) if choices else _bounds(field)
                # An anchor per key: links like config.md#ner-output land on its row.
                lines.append(f'| <a id="{task}-{field.name}"></a>`{field.name}` | '
                             f"{cell(field.type)} | "
                             f"{cell(code(yaml_scalar(field.default)))} | {cell(allowed)} | "
                             f"{cell(prose(field.metadata.get('help', '')))} |")
            lines.append("")
    return "\n".join(lines)


# --- Export format -----------------------------------------------------------------------------

def _layout_table(rows: list[tuple[str, str]]) -> list[str]:
    """Path and meaning in two aligned columns; a path too long for its column gets a line
    of its own."""
    width = 32
    lines = []
    for path, meaning in rows:
        if len(path) >= width:
            lines += [path, " " * width + meaning]
        else:
            lines.append(f"{path:<{width}}{meaning}")
    return lines


def _layout_lines() -> list[str]:
    from seqtasks.export.layout import METADATA_FILE, SAVED_MODEL_FILES
    from seqtasks.export.model_card import MODEL_CARD_FILE
    from seqtasks.export.warmup import WARMUP_FILE

    return [
        "# Export format", "",
        "Generated from the exporter's constants and the pipelines' serving functions when the "
        "site is built. An export is TensorFlow Serving's layout: a base path holding numbered "
        "version folders, each a standard SavedModel plus files that describe it.", "",
        "```text", *_layout_table([
            ("DIR/", "base path (the -o of seqtasks train)"),
            ("DIR/<version>/", "1, 2, ...: each training run adds the next number"),
            (f"DIR/<version>/{SAVED_MODEL_FILES[0]}",
             "the graph: tokenizer -> ids -> model -> outputs"),
            ("DIR/<version>/variables/", "the weights"),
            ("DIR/<version>/assets/", "vocabularies and labels, one entry a line"),
            (f"DIR/<version>/{WARMUP_FILE}", "warmup requests servers replay on load"),
            (f"DIR/<version>/{METADATA_FILE}", "what the export is (below); written last"),
            (f"DIR/<version>/{MODEL_CARD_FILE}", "the same facts for people"),
            ("DIR/<version>/*.png", "figures: learning curves, the task's evaluation plot")]),
        "```", "",
        "- A version folder's name is ASCII digits (`00000123` is version 123, as in TensorFlow "
        "Serving); other entries are skipped. `evaluate`, `predict`, `serve` and `info` take "
        "`DIR` (the newest complete version) or one version folder.",
        "- Each version is written into a temporary folder and renamed into place when "
        f"complete; `{METADATA_FILE}` is its last file, so a folder without it is not a "
        "finished export.",
        "- Tokenization and the vocabulary lookup are inside the graph: every signature takes "
        "raw strings (a captioner: encoded image bytes). Loading needs the tensorflow-text ops "
        "registered (`import tensorflow_text` before `tf.saved_model.load`); "
        "`seqtasks saved-model-cli` runs TensorFlow's `saved_model_cli` with them.",
        "- Recurrent layers are plain `While` loops (no cuDNN-only ops): exports serve on CPU.",
        f"- `{WARMUP_FILE}` is TensorFlow Serving's warmup format (a TFRecord of "
        "`PredictionLog`s): one Predict request per signature with a few short examples, each "
        f"run on the export before it is written. `{METADATA_FILE}`'s `warmup` entry lists the "
        "records written and any left out.", ""]


METADATA_KEYS = {
    "task": "the task that trained it (`seqtasks train TASK`)",
    "kind": "what it is: `classifier`, `tagger`, `language_model`, `sequence_to_sequence`, "
            "`sequence_autoencoder` or `captioner`; predictors and servers choose by kind",
    "main_score": "`{name, mode}`: the metric early stopping and `compare` rank by",
    "config": "the resolved config, every key ([Config keys](config.md))",
    "data": "the training and validation data: files with lines, bytes and sha256, examples "
            "kept; what the task says of its data (NER: tag scheme, repairs)",
    "metrics": "validation metrics of the exported weights, and the data they were measured on",
    "training": "the run: epochs, time, stop reason, history, throughput, hardware",
    "input_tables": "only when the serving graph has them: per LSTM fed from an embedding, the "
                    "rows, columns and bytes of its tables of input products "
                    "([Internals](../internals.md#the-serving-graph))",
    "version": "this version's number",
    "signatures": "the signature names in the SavedModel",
    "warmup": "the warmup file, records written and records left out",
    "exported_at": "local time of the export (ISO 8601)",
    "library_versions": "seqtasks, TensorFlow, Keras, tensorflow-text and Python versions",
}
TASK_METADATA = "what the task adds: its labels, tags or vocabulary sizes (e.g. `labels`, " \
    "`vocab_size`)"


def _metadata_lines() -> list[str]:
    lines = ["## seqtasks.json", "",
             "One JSON object. `evaluate`, `predict`, `serve` and `seqtasks info DIR` read it, "
             "so they need only the directory.", "", "| key | what |", "| --- | --- |"]
    lines += [f"| `{key}` | {cell(what)} |" for key, what in METADATA_KEYS.items()]
    lines += [f"| other keys | {cell(TASK_METADATA)} |", ""]
    return lines


def _signature_lines(task: str, module: str) -> list[str]:
    signatures = export_signatures.task_signatures(task, module)
    assets = export_signatures.asset_names(task, module)
    lines = [f"### {task}", ""]
    if task in TASK_ALIASES:
        lines += [f'<a id="export-{TASK_ALIASES[task]}"></a>', ""]
    lines += [f"Assets: {', '.join(code(a) for a in assets) or 'none'}. Signatures, from "
              f"`{module}`:", "",
              "| signature | inputs (name: dtype shape) | outputs |", "| --- | --- | --- |"]
    for signature in signatures:
        name = code(signature.name) + (f" (when `{signature.condition}`)"
                                       if signature.condition else "")
        inputs = "<br>".join(f"`{i.name}`: {i.dtype} `{i.shape}`" for i in signature.inputs)
        outputs = ", ".join(code(key) + (f" (when `{when}`)" if when else "")
                            for key, when in signature.outputs)
        lines.append(f"| {cell(name)} | {cell(inputs)} | {cell(outputs)} |")
    for builder in export_signatures.task_builders(task, module):
        if builder.doc:
            lines += ["", f"`{builder.module}.{builder.name}`: {cell(prose(builder.doc))}"]
    return lines + [""]


def export_format_markdown() -> str:
    from pipelines import TASKS

    lines = _layout_lines() + _metadata_lines()
    lines += ["## Signatures", "",
              "Each task's signatures, their inputs (a shape's `-1` is any size: the batch, or "
              "the tokens of a sentence) and the names of their outputs. Output dtypes and "
              "shapes of a given export: `seqtasks saved-model-cli show --dir DIR/1 --all`. "
              "`serving_default` is what TensorFlow Serving's `:predict` calls without a "
              "signature name; `seqtasks serve` and `seqtasks.load` call the same functions.", ""]
    for task, module in TASKS.items():
        lines += _signature_lines(task, module)
    return "\n".join(lines)


# --- The hook ----------------------------------------------------------------------------------

def generate() -> dict[str, str]:
    """Every generated page: {path under docs/: Markdown}."""
    return {path: globals()[function]() for path, function in PAGES.items()}


def on_files(files, config):
    from mkdocs.structure.files import File

    for path, markdown in generate().items():
        existing = files.get_file_from_path(path)
        if existing is not None:  # a stale hand-written copy must not shadow the generated one
            files.remove(existing)
        files.append(File.generated(config, path, content=markdown))
    return files
