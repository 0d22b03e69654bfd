"""Give back a positional argument that an option taking several values swallowed.

``--train FILE [FILE]``, ``--set KEY=VALUE ...`` and their kind take every value up to the next
option, so in ``seqtasks train --train a --valid b --set cell=gru sentiment`` argparse hands
``sentiment`` to ``--set`` and then misses the task. Before parsing, this walks the command's
tokens with the command's own grammar; when a positional is missing and the last value of such
a run is one the positional takes (one of its choices, or an existing directory for ``DIR``),
that value is moved to the front, where the usage line puts it. Nothing else is reordered.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _option(parser: argparse.ArgumentParser, token: str) -> argparse.Action | None:
    """The option ``token`` names, exactly or by a unique prefix (as argparse allows)."""
    table = parser._option_string_actions
    if token in table:
        return table[token]
    if token.startswith("--") and parser.allow_abbrev:
        matches = {table[name] for name in table if name.startswith(token)}
        if len(matches) == 1:
            return matches.pop()
    return None


def _accepts(action: argparse.Action, value: str) -> bool:
    """Whether the positional ``action`` would take ``value`` if it were written in its place."""
    if action.choices is not None:
        return value in action.choices
    return Path(value).is_dir()  # the only free-form positionals are model directories


def _walk(parser: argparse.ArgumentParser, tokens: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """How many free positional tokens there are, and the (start, end) spans of the values of
    every option that takes one or more values."""
    free, runs, i = 0, [], 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            return free + len(tokens) - i - 1, runs
        if not token.startswith("-") or token == "-":
            free += 1
            i += 1
            continue
        action = _option(parser, token.split("=", 1)[0])
        i += 1
        if action is None or "=" in token:
            continue
        if action.nargs in ("+", "*", argparse.REMAINDER):
            start = i
            while i < len(tokens) and not tokens[i].startswith("-"):
                i += 1
            runs.append((start, i))
        elif action.nargs == "?":
            i += 1 if i < len(tokens) and not tokens[i].startswith("-") else 0
        elif isinstance(action.nargs, int):
            i += action.nargs
        elif action.nargs is None:  # one value (flags have nargs=0)
            i += 1
    return free, runs


def positionals_first(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` with a swallowed positional moved to just after the command name."""
    commands = _subcommands(parser)
    at = next((i for i, token in enumerate(argv) if token in commands), None)
    if at is None:
        return argv
    command = commands[argv[at]]
    positionals = [a for a in command._actions if not a.option_strings]
    if not positionals or positionals[0].nargs in ("*", "+", argparse.REMAINDER):
        return argv
    tokens = argv[at + 1:]
    free, runs = _walk(command, tokens)
    expected = sum(1 for a in positionals if a.nargs is None)
    if free >= max(expected, 1):
        return argv
    wanted = positionals[free]
    for start, end in runs:
        if end - start >= 2 and _accepts(wanted, tokens[end - 1]):
            moved = tokens[end - 1]
            rest = tokens[:end - 1] + tokens[end:]
            return argv[:at + 1] + [moved] + rest
    return argv
