"""The README stays a short front page (the documentation lives in docs/), and every relative
link in it leads to a file of the repository."""

import re
from pathlib import Path

from helpers import ROOT

README = ROOT / "README.md"
MAX_README_BYTES = 10_000
# [text](target) and ![alt](target); a target ends at whitespace (a title may follow) or ")"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target (reference-style definitions)
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def relative_links(text: str) -> list[str]:
    """Link targets that name a path in the repository (no scheme, not a bare #anchor)."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks hold no links
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = LINK.findall(text) + REFERENCE.findall(text)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def broken_links(readme: Path) -> list[str]:
    root = readme.parent
    broken = []
    for target in relative_links(readme.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (root / path).resolve().exists():
            broken.append(target)
    return broken


def test_readme_is_at_most_10_kb():
    size = README.stat().st_size
    assert size <= MAX_README_BYTES, (
        f"README.md is {size:,} bytes, over {MAX_README_BYTES:,}: move the detail to a page "
        f"under docs/ and link it")


def test_every_relative_link_in_the_readme_points_to_a_file():
    assert relative_links(README.read_text(encoding="utf-8")), "README.md links nowhere"
    assert broken_links(README) == []


def test_a_broken_link_is_found(tmp_path):
    readme = tmp_path / "README.md"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "install.md").write_text("# Install\n", encoding="utf-8")
    readme.write_text(
        "[install](docs/install.md#extras) [gone](docs/missing.md) ![fig](img/none.png)\n"
        "[site](https://example.org/x.md) [top](#results) `[code](nowhere.md)`\n"
        "```\n[fenced](fenced.md)\n```\n[ref]: docs/also-missing.md\n", encoding="utf-8")
    assert broken_links(readme) == ["docs/missing.md", "img/none.png", "docs/also-missing.md"]
