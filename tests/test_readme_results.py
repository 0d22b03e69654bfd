"""Every measured number in the README and the docs site comes from a committed result file.

A table in README.md or docs/**/*.md either has a ``result`` column (one file per row: the Results
table) or follows a ``Source: `bench/results/NAME.json` `` line (within 3 lines); every number in
its measured cells must be a value of that file, as the page displays it (rounded, as a
percentage, or seconds as minutes). A table that claims measurements without naming a file fails:
any table in a results page (docs/benchmarks.md, docs/concepts/*.md) or a "Results" / "Measured"
section whose measured cells hold numbers, and any table anywhere whose header names a measured
quantity (accuracy, BLEU, tokens/s, ...). Figures the concept pages copy from bench/results into
docs/img/concepts/ (mkdocs serves only docs/) must be the committed figure, byte for byte.
"""

import json
import math
import re
from pathlib import Path

import pytest

from helpers import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
RESULTS_PAGES = {"docs/benchmarks.md"}
RESULTS_FOLDERS = ("docs/concepts/",)
RESULTS_SECTIONS = {"Results", "Measured"}
# A header cell naming one of these claims a measurement (checked in every page).
MEASURED_HEADER = re.compile(
    r"accuracy|bleu|chrf|\bf1\b|perplexity|nats|bits/|tokens/s|sentences/s|rows/s|images/s|"
    r"chars/s|seconds|\bms\b|speed|throughput|latency", re.IGNORECASE)
FIGURES = DOCS / "img" / "concepts"
RESULT_FILE = re.compile(r"bench/results/[\w.-]+\.json")
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
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
    """Whether ``number`` (as printed) is one of ``values`` rounded, x100, or seconds in minutes
    (``1.8e-7``: the mantissa's digits count, at that power of ten)."""
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    shown = float(number)
    tolerance = 0.5 * 10 ** (int(exponent or 0) - decimals) + (1e-9 if not exponent else 0)
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


def page_name(page: Path) -> str:
    """``page`` relative to the repository root (as written in messages and test ids)."""
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.as_posix()


def is_results_page(page: Path) -> bool:
    name = "/" + page.as_posix()
    return any(name.endswith("/" + p) for p in RESULTS_PAGES) \
        or any(f"/{folder}" in name for folder in RESULTS_FOLDERS)


def has_numbers(header: list[str], rows: list[list[str]]) -> bool:
    """Whether a measured cell (not a label column) of ``rows`` holds a number."""
    return any(numbers_in(cell) for row in rows for name, cell in zip(header, row)
               if name not in LABEL_COLUMNS and name != header[0])


def measured_tables(page: Path = README):
    """The tables of ``page`` that claim measurements: those naming a result file, and those
    that look measured (results page or section, or a measured quantity in the header) and hold
    numbers; the latter without a file are reported by the caller."""
    results_page = is_results_page(page)
    for section, source, header, rows in tables(page.read_text(encoding="utf-8")):
        if "result" in header or source:
            yield section, source, header, rows
        elif (section in RESULTS_SECTIONS or results_page
              or any(MEASURED_HEADER.search(cell) for cell in header)) \
                and has_numbers(header, rows):
            yield section, None, header, rows


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


def page_problems(page: Path) -> tuple[int, list[str]]:
    """(rows checked, problems) of ``page``'s measured tables."""
    checked, problems = 0, []
    for section, source, header, rows in measured_tables(page):
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
    return checked, [f"{page_name(page)}: {p}" for p in problems]


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_page_tables_quote_committed_result_files(page):
    checked, problems = page_problems(page)
    assert problems == []
    if page == DOCS / "benchmarks.md":  # the page made of such tables: a parser slip reads none
        assert checked > 0


@pytest.mark.parametrize("figure", sorted(FIGURES.glob("*.png")) if FIGURES.is_dir() else [],
                         ids=lambda p: p.name)
def test_docs_figures_are_the_committed_results(figure):
    committed = ROOT / "bench" / "results" / figure.name
    assert committed.exists(), f"{page_name(figure)}: no bench/results/{figure.name} to copy from"
    assert figure.read_bytes() == committed.read_bytes(), \
        f"{page_name(figure)} differs from {page_name(committed)}: copy it again"


@pytest.mark.parametrize("number, values, expected", [
    ("81.5", [0.8153], True), ("0.815", [0.8153], True), ("3.0", [181.0], True),
    ("90.6", [90.64], True), ("1,384", [1384.2], True), ("81.7", [0.8153], False),
    ("1.8e-7", [1.7881e-07], True), ("1.9e-7", [1.7881e-07], False),
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


def test_a_docs_table_of_numbers_without_a_source_is_caught(tmp_path):
    page = tmp_path / "docs" / "concepts" / "x.md"
    page.parent.mkdir(parents=True)
    page.write_text("## Measured\n\n| run | value |\n| --- | --- |\n| a | 81.5 % |\n\n"
                    "| key | meaning |\n| --- | --- |\n| clipnorm | a name, no number |\n",
                    encoding="utf-8")
    found = list(measured_tables(page))
    assert [(source, rows) for _, source, _, rows in found] == [(None, [["a", "81.5 %"]])]


def test_a_measured_header_anywhere_needs_a_source(tmp_path):
    page = tmp_path / "guide.md"
    page.write_text("## Usage\n\n| model | tokens/s |\n| --- | --- |\n| lstm | 12,990 |\n\n"
                    "| option | default |\n| --- | --- |\n| units | 256 |\n", encoding="utf-8")
    assert [rows for _, source, _, rows in measured_tables(page) if source is None] == [
        [["lstm", "12,990"]]]
