"""The command line's grammar (pipelines/cli/args.py, pipelines/cli/reorder.py): every command's
help, one spelling per meaning with the old ones kept, and positionals that no option swallows."""

import argparse
import json
import subprocess
import sys

import pytest

from helpers import DATA, ROOT, run_cli
from pipelines.cli.args import HelpFormatter, build_parser
from pipelines.cli.reorder import positionals_first

PARSER = build_parser()
COMMANDS = sorted(next(a for a in PARSER._actions
                       if isinstance(a, argparse._SubParsersAction)).choices.items())


def parse(*argv: str) -> argparse.Namespace:
    return PARSER.parse_args(positionals_first(PARSER, list(argv)))


@pytest.mark.parametrize("name,command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_option_has_help_and_shows_its_default(name, command, capsys):
    with pytest.raises(SystemExit) as done:
        PARSER.parse_args([name, "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: seqtasks {name}")
    formatter = HelpFormatter(f"seqtasks {name}")
    for action in command._actions:
        what = action.option_strings or [action.dest]
        assert action.help and action.help.strip(), f"{name} {what[0]} has no help"
        meaningful_default = action.default not in (None, False, [], "", argparse.SUPPRESS)
        if meaningful_default and not action.required:
            assert "default" in formatter._get_help_string(action), (name, what[0])
        for spelling in action.option_strings:
            assert spelling in shown


def test_positionals_come_first_in_usage(capsys):
    with pytest.raises(SystemExit):
        PARSER.parse_args(["train", "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert usage.index("{sentiment,") < usage.index("--train")


@pytest.mark.parametrize("argv,expected", [
    ("train --train a --valid b --out c --set cell=gru sentiment",
     {"task": "sentiment", "train": "a", "valid": "b", "output": "c", "set": ["cell=gru"]}),
    ("train --train a.de a.en --valid b.de b.en translate -o c",
     {"task": "translate", "train": ("a.de", "a.en"), "valid": ("b.de", "b.en")}),
    ("train --train a --valid b translate --quiet -o c",
     {"task": "translate", "valid": "b", "quiet": True}),
    ("train --train a --valid b -o c --set units=3 --set cell=gru ner",
     {"task": "ner", "set": ["units=3", "cell=gru"]}),
    ("compare --train a --valid b --output c --grid cell=rnn,gru lm",
     {"task": "lm", "grid": ["cell=rnn,gru"], "output": "c"}),
    ("pretrain --corpus a.txt b.txt vectors -o v.txt",
     {"what": "vectors", "corpus": ["a.txt", "b.txt"], "output": "v.txt"}),
    # Positional first, as the usage line writes it: nothing moves.
    ("train sentiment --train a --valid b -o c --set cell=gru",
     {"task": "sentiment", "set": ["cell=gru"]}),
])
def test_an_option_taking_several_values_never_swallows_the_task(argv, expected):
    args = parse(*argv.split())
    assert {key: getattr(args, key) for key in expected} == expected


def test_a_model_directory_after_data_files_is_the_directory(tmp_path):
    export = tmp_path / "model"
    export.mkdir()
    args = parse("evaluate", "--data", "x.de", "x.en", str(export), "--version", "2")
    assert (args.model_dir, args.data, args.version) == (str(export), ("x.de", "x.en"), 2)
    args = parse("diagnose", "--data", "x.tsv", str(export), "--out", "p.png")
    assert (args.model_dir, args.data, args.output) == (str(export), "x.tsv", "p.png")
    # A second data file that is no directory stays a data file.
    assert parse("diagnose", "--data", "x.de", "x.en", "-o", "p.png").data == ("x.de", "x.en")


@pytest.mark.parametrize("new,old", [
    ("train sentiment --train a --valid b -o c", "train sentiment --train a --valid b --out c"),
    ("attention m --text hi --output p.png", "attention m --text hi --out p.png"),
    ("diagnose --task adding -o d", "diagnose --task adding --out d"),
    ("pretrain vectors --corpus a -o v.txt", "pretrain vectors --corpus a --out v.txt"),
    ("compare ner --train a --valid b --grid cell=gru -o r",
     "compare ner --train a --valid b --grid cell=gru --out r"),
    ("evaluate m --data d --model-version 3", "evaluate m --data d --version 3"),
    ("predict m -i a.tsv -o b.tsv --model-version 1 -q",
     "predict m --input a.tsv --output b.tsv --version 1 --quiet"),
    ("train lm --train a --valid b -o c -c x.yaml -q",
     "train lm --train a --valid b --out c --config x.yaml --quiet"),
])
def test_old_spellings_still_mean_the_same(new, old):
    assert vars(parse(*new.split())) == vars(parse(*old.split()))


def test_a_swallowed_task_is_trained_not_refused_in_a_real_run(tmp_path, capsys):
    # The command line: the task last, after --set. A misspelt key shows which task's
    # config it reached, before any training. Through the CLI's main in process, as the console
    # script runs it (a real process costs a TensorFlow import).
    from pipelines.cli.main import main

    assert main(list(map(str, ["train", "--train", DATA / "sentiment" / "train.tsv", "--valid",
                               DATA / "sentiment" / "valid.tsv", "--out", tmp_path / "model",
                               "--set", "cell=gru", "pooling=mean", "sentiment"]))) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: Unknown pooling 'mean'. Expected one of: last, max, attention"]
    assert not (tmp_path / "model").exists()


def fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=120).stdout


MODULES = "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))"


def test_version_is_seqtasks_own_and_needs_no_tensorflow():
    import seqtasks

    out = fresh("import json, sys\nfrom pipelines.cli.main import main\n"
                "try:\n    main(['--version'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
                + MODULES)
    first, modules = out.strip().splitlines()
    assert first == f"seqtasks {seqtasks.__version__}"
    assert json.loads(modules) == []
    assert run_cli("-v").stdout.strip() == first


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_help_needs_no_tensorflow(name):
    out = fresh("import json, sys\nfrom pipelines.cli.main import main\n"
                f"try:\n    main([{name!r}, '--help'])\nexcept SystemExit as e:\n"
                "    assert e.code == 0\n" + MODULES)
    assert json.loads(out.strip().splitlines()[-1]) == []
