"""The generated reference (docs/hooks/reference.py) lists every CLI option, every config key and
each task's real export signatures, so a new option or key cannot go undocumented."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import re

import pytest
from helpers import ROOT


def _load_hook():
    spec = importlib.util.spec_from_file_location("seqtasks_docs_reference_hook",
                                                  ROOT / "docs" / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def _sections(markdown: str) -> dict[str, str]:
    """{heading text: the text up to the next heading of the same level} for '## ' headings."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def _all_parsers():
    from pipelines.cli.args import build_parser

    stack = [build_parser()]
    while stack:
        parser = stack.pop()
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())


def test_every_subcommand_and_option_is_in_the_cli_reference():
    sections = _sections(hook.cli_markdown())
    parsers = list(_all_parsers())
    assert len(parsers) > 10  # seqtasks and its subcommands
    for parser in parsers:
        assert parser.prog in sections, f"no '## {parser.prog}' section"
        body = sections[parser.prog]
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            for option in action.option_strings:
                assert re.search(rf"`{re.escape(option)}[` ]", body), \
                    f"{parser.prog}: {option} missing from the CLI reference"
            if not action.option_strings:
                assert f"`{action.metavar or action.dest}`" in body
            for choice in action.choices or ():
                assert f"`{choice}`" in body, f"{parser.prog}: choice {choice} missing"
            if action.help:
                assert hook.cell(hook.prose(action.help)) in body, f"{parser.prog}: help of {action.dest}"


def test_defaults_are_shown_and_nested_command_anchors_exist():
    markdown = hook.cli_markdown()
    serve = _sections(markdown)["seqtasks serve"]
    assert "| `--port P` | REST port | `8501` |" in serve
    assert "| `--demo` | serve a demo page at / (off by default) | off |" in serve
    assert '<a id="seqtasks-vectors-list"></a>' in markdown
    assert '<a id="seqtasks-pretrain-vectors"></a>' in markdown
    assert "==SUPPRESS==" not in markdown


def test_every_model_server_flag_is_in_the_cli_reference():
    from seqtasks.serving.model_server_flags import NOT_IMPLEMENTED, ModelServerFlags

    body = _sections(hook.cli_markdown())["seqtasks-model-server"]
    for field in dataclasses.fields(ModelServerFlags):
        assert f"| `--{field.name}` |" in body, f"--{field.name} missing"
    for name in NOT_IMPLEMENTED:
        assert f"`--{name}`" in body


def test_every_config_key_of_every_task_is_in_the_config_reference():
    from pipelines.configs import CONFIGS

    sections = _sections(hook.config_markdown())
    assert set(sections) == set(CONFIGS)
    for task, config_class in CONFIGS.items():
        rows = {m.group(1): m.group(0) for m in
                re.finditer(r'^\| <a id="[\w-]+"></a>`(\w+)` \|.*$', sections[task],
                            flags=re.M)}
        fields = dataclasses.fields(config_class)
        assert set(rows) == {field.name for field in fields}, task
        for field in fields:
            row = rows[field.name]
            assert f"`{hook.yaml_scalar(field.default)}`" in row, (task, field.name)
            for choice in field.metadata.get("choices", ()):
                assert f"`{choice}`" in row, (task, field.name, choice)
            assert hook.cell(hook.prose(field.metadata.get("help", ""))) in row, (task, field.name)


def test_config_bounds_are_shown():
    sections = _sections(hook.config_markdown())
    dropout = next(line for line in sections["sentiment"].splitlines()
                   if "`dropout` |" in line)
    assert ">= 0.0, < 1.0" in dropout
    assert '<a id="sentiment-dropout"></a>' in dropout
    units = next(line for line in sections["ner"].splitlines() if "`units` |" in line)
    assert "| 1 to 10000000 |" in units


def test_export_format_lists_every_task_and_its_signatures():
    from pipelines import TASKS

    markdown = hook.export_format_markdown()
    for task in TASKS:
        assert f"### {task}\n" in markdown
    assert "assets.extra/tf_serving_warmup_requests" in markdown
    ner = markdown.split("### ner\n")[1].split("### ")[0]
    assert "| `tag_tokens` | `tokens`: string `[-1, -1]` | `tags`, `lengths` |" in ner
    autoencoder = markdown.split("### autoencoder\n")[1].split("### ")[0]
    # the autoencoder's embed replaces translation's serving_default
    assert "| `serving_default` | `text`: string `[-1]` | `embedding` |" in autoencoder
    caption = markdown.split("### caption\n")[1]
    assert re.search(r"\| `caption` \|.*\| `caption`, `tokens`, `length` \|", caption)


def test_the_generated_pages_need_no_tensorflow(tmp_path):
    """The docs build stays fast: generating the reference imports no TensorFlow."""
    from helpers import run_fresh_python

    out = run_fresh_python(
        "import sys, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('h', {str(hook.HOOK_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "pages = m.generate()\n"
        "print(sorted(pages), 'tensorflow' in sys.modules)\n", timeout=120)
    assert "'reference/cli.md'" in out and out.strip().endswith("False")


def _real_signatures(export_dir) -> dict:
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

    loaded = tf.saved_model.load(str(export_dir))
    found = {}
    for name, function in loaded.signatures.items():
        inputs = function.structured_input_signature[1]
        found[name] = ({key: (spec.dtype.name, [-1 if d is None else d for d in spec.shape])
                        for key, spec in inputs.items()},
                       set(function.structured_outputs))
    return found


def test_sentiment_signatures_and_metadata_match_a_real_export(sentiment_export):
    """The signatures read from the source are the exported SavedModel's, and every
    seqtasks.json key the page describes is in a real export (the others are named on it)."""
    export_dir, _ = sentiment_export
    real = _real_signatures(export_dir)
    static = {s.name: s for s in hook.export_signatures.task_signatures(
        "sentiment", "pipelines.sentiment")}
    assert set(static) == set(real)
    for name, signature in static.items():
        inputs, outputs = real[name]
        assert {i.name: (i.dtype, json.loads(i.shape)) for i in signature.inputs} == inputs
        assert {key for key, _ in signature.outputs} == outputs
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert set(hook.METADATA_KEYS) <= set(metadata)
    markdown = hook.export_format_markdown()
    for key in set(metadata) - set(hook.METADATA_KEYS):
        assert f"`{key}`" in markdown, f"seqtasks.json key {key} not described"
    assets = sorted(p.name for p in (export_dir / "assets").iterdir())
    assert sorted(hook.export_signatures.asset_names("sentiment", "pipelines.sentiment")) \
        == assets


@pytest.mark.parametrize("task", ["ner", "lm", "translate", "caption"])
def test_every_task_offers_a_serving_default_or_documents_its_signatures(task):
    from pipelines import TASKS

    signatures = hook.export_signatures.task_signatures(task, TASKS[task])
    assert signatures, f"{task}: no signatures read from its source"
    for signature in signatures:
        assert signature.inputs and all(i.dtype != "?" for i in signature.inputs), signature
        assert signature.outputs, f"{task}: {signature.name} has no outputs read"


def test_angle_brackets_in_help_are_text_not_html():
    """``--output/<version>/`` in a description must not vanish as an unknown HTML tag."""
    train = _sections(hook.cli_markdown())["seqtasks train"]
    assert "--output/&lt;version&gt;/" in train
    assert hook.prose("a <b> `c <d>` & e") == "a &lt;b&gt; `c <d>` &amp; e"
