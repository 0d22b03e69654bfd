"""Every measured number in the README comes from a committed result file.

A README table either has a ``result`` column (one file per row: the Results table) or follows a
``Source: `bench/results/NAME.json` `` line; every number in its measured cells must be a value of
that file, as the README displays it (rounded, as a percentage, or seconds as minutes). Tables
in the Results section must name their source.
"""

import json
import math
import re
from pathlib import Path

import pytest

from helpers import ROOT

README = ROOT / "README.md"
RESULT_FILE = re.compile(r"bench/results/[\w.-]+\.json")
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
LABEL_COLUMNS = {"task", "data", "metric", "command", "result", "run", "cell", "offered load"}


def numbers_in(text: str) -> list[str]:
    return [m.group(0).replace(",", "") for m in NUMBER.finditer(text.replace("`", ""))]


def leaves(value) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)] if math.isfinite(value) else []
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return []


def shown_as(number: str, values: list[float]) -> bool:
    """Whether ``number`` (as printed) is one of ``values`` rounded, x100, or seconds in minutes."""
    decimals = len(number.split(".")[1]) if "." in number else 0
    shown = float(number)
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(v * scale - shown) <= tolerance for v in values for scale in (1, 100, 1 / 60))


def tables(text: str):
    """(section heading, source file or None, header cells, rows) of every Markdown table."""
    lines, section, found = text.splitlines(), "", []
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
            before = " ".join(lines[max(0, i - 3):i])
            source = RESULT_FILE.search(before.split("Source:")[-1]) if "Source:" in before \
                else None
            header = [c.strip().lower() for c in lines[i].strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip("|").split("|")])
                i += 1
            found.append((section, source.group(0) if source else None, header, rows))
            continue
        i += 1
    return found


def measured_tables():
    for section, source, header, rows in tables(README.read_text(encoding="utf-8")):
        if "result" in header or source or section == "Results":
            yield section, source, header, rows


def check_row(source: str, header: list[str], row: list[str], root: Path = ROOT) -> list[str]:
    path = root / source
    if not path.exists():
        return [f"{source} does not exist"]
    values = leaves(json.loads(path.read_text(encoding="utf-8")))
    problems = []
    for name, cell in zip(header, row):
        if name in LABEL_COLUMNS or name == header[0]:
            continue
        problems += [f"{name} {number!r} is not in {source}" for number in numbers_in(cell)
                     if not shown_as(number, values)]
    return problems


def test_readme_tables_quote_committed_result_files():
    checked, problems = 0, []
    for section, source, header, rows in measured_tables():
        for row in rows:
            row_source = source
            if "result" in header:
                match = RESULT_FILE.search(row[header.index("result")])
                row_source = match.group(0) if match else None
            if row_source is None:
                problems.append(f"{section}: a table row without a result file: {row[:2]}")
                continue
            problems += [f"{section}: {row[0]}: {p}" for p in check_row(row_source, header, row)]
            checked += 1
    assert checked > 0 and problems == []


@pytest.mark.parametrize("number, values, expected", [
    ("81.5", [0.8153], True), ("0.815", [0.8153], True), ("3.0", [181.0], True),
    ("90.6", [90.64], True), ("1,384", [1384.2], True), ("81.7", [0.8153], False),
])
def test_numbers_match_as_displayed(number, values, expected):
    assert shown_as(number.replace(",", ""), values) is expected


def test_a_table_with_a_number_no_file_holds_is_caught(tmp_path):
    result = tmp_path / "bench" / "results" / "x.json"
    result.parent.mkdir(parents=True)
    result.write_text(json.dumps({"accuracy": 0.815, "train_seconds": 180}))
    header = ["task", "value", "train time", "result"]
    assert check_row("bench/results/x.json", header, ["s", "81.5 %", "3.0 min", "-"], tmp_path) == []
    assert check_row("bench/results/x.json", header, ["s", "95.4 %", "3.0 min", "-"], tmp_path) == [
        "value '95.4' is not in bench/results/x.json"]
