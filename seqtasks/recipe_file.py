"""Read a YAML or JSON recipe (a config file) into a flat ``{key: value}`` dict, safely.

A recipe is a flat mapping of names to scalars, so everything else is refused with its
file:line before it can cost memory or time: a file over ``MAX_RECIPE_BYTES``, aliases
(``*name``: a 416-byte "billion laughs" would otherwise expand to gigabytes), nesting deeper than
``MAX_DEPTH`` (PyYAML composes recursively), keys that are not strings, a key given twice (YAML
would keep the last one silently) and values that are lists or mappings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from seqtasks.errors import ConfigError

MAX_RECIPE_BYTES = 1 << 20  # the largest recipe in recipes/ is under 2 KB
MAX_DEPTH = 8  # a recipe is one mapping of scalars: depth 2; a little slack for a clear message
STR_TAG = "tag:yaml.org,2002:str"


class _Refused(Exception):
    """A YAML construct a recipe may not use, at ``mark`` (a PyYAML position)."""

    def __init__(self, mark, problem: str):
        super().__init__(problem)
        self.line = mark.line + 1 if mark is not None else None
        self.problem = problem


class _RecipeLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and deep nesting while it composes (before expanding)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(event.start_mark, f"alias '*{event.anchor}': a recipe may not use "
                                             "YAML aliases; write the value out")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(self.peek_event().start_mark,
                               f"nested more than {MAX_DEPTH} levels deep; a recipe is a flat "
                               "list of key: value lines")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line is not None else str(path)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise ConfigError(f"{path}: a {size:,}-byte config file, more than the "
                              f"{MAX_RECIPE_BYTES:,} bytes a recipe may have (a recipe is a few "
                              "key: value lines)")
        with path.open("rb") as handle:
            data = handle.read(MAX_RECIPE_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file ({e.strerror})") from None
    if len(data) > MAX_RECIPE_BYTES:  # grew since stat, or a pipe
        raise ConfigError(f"{path}: more than the {MAX_RECIPE_BYTES:,} bytes a recipe may have")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: bytes that are not UTF-8 (save the file as "
                          "UTF-8)") from None


def _compose(path: Path, text: str):
    loader = _RecipeLoader(text)
    try:
        return loader, loader.get_single_node()
    except _Refused as e:
        raise ConfigError(f"{_where(path, e.line)}: {e.problem}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{_where(path, mark.line + 1 if mark else None)}: not valid "
                          f"YAML/JSON ({reason})") from None
    finally:
        loader.dispose()


def _check_pairs(path: Path, root) -> dict[str, int]:
    """Each key's line; raises on a non-string or repeated key and on a non-scalar value."""
    lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR_TAG:
            shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
            raise ConfigError(f"{path}:{line}: key {shown!r} is not a name; keys are config "
                              "names such as 'units' (quote it if it is one)")
        if key_node.value in lines:
            raise ConfigError(f"{path}:{line}: '{key_node.value}' is set twice (first on line "
                              f"{lines[key_node.value]}); keep one")
        if not isinstance(value_node, yaml.ScalarNode):
            raise ConfigError(f"{path}:{line}: '{key_node.value}' is a list or mapping; config "
                              "values are single numbers, words or true/false")
        lines[key_node.value] = line
    return lines


def _check_keys(path: Path, node) -> None:
    """Every mapping key under ``node`` a string (iterative: the depth is bounded already)."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR_TAG:
                    shown = key_node.value if isinstance(key_node, yaml.ScalarNode) \
                        else "a collection"
                    raise ConfigError(f"{path}:{key_node.start_mark.line + 1}: key {shown!r} is "
                                      "not a name; keys are config names such as 'units' "
                                      "(quote it if it is one)")
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def load_yaml(path: str | Path) -> Any:
    """Any small YAML/JSON file (a run list, say) read with the same limits as a recipe: size,
    no aliases, bounded nesting, string keys."""
    path = Path(path)
    loader, root = _compose(path, _read_text(path))
    if root is None:
        return None
    _check_keys(path, root)
    return loader.construct_document(root)


def read_recipe(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The ``{key: value}`` of a recipe file and the line of each key (for messages)."""
    path = Path(path)
    loader, root = _compose(path, _read_text(path))
    if root is None:  # an empty file or only comments: every key keeps its default
        return {}, {}
    if not isinstance(root, yaml.MappingNode):
        got = "list" if isinstance(root, yaml.SequenceNode) else "single value"
        raise ConfigError(f"{_where(path, root.start_mark.line + 1)}: expected a mapping of "
                          f"key: value lines, got a {got}")
    lines = _check_pairs(path, root)
    try:
        values = {key_node.value: loader.construct_object(value_node, deep=True)
                  for key_node, value_node in root.value}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{_where(path, mark.line + 1 if mark else None)}: {reason}") from None
    return values, lines
