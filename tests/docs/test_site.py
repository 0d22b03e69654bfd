"""The documentation site builds with ``mkdocs build --strict`` (broken links, missing pages and
unresolved API references fail), and its pages render in a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from helpers import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The home page and one tutorial: prose, a table, tabs and code blocks between them.
PAGES = {"home": "index.html", "tutorial-sentiment": "tutorials/sentiment/index.html"}
WINDOW = "1280,2000"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(completed ``mkdocs build --strict``, site folder). The pages are written even when the
    strict check then fails, so the screenshots do not hide behind a broken link."""
    folder = tmp_path_factory.mktemp("site") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                            str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env=env)
    return built, folder


def test_site_builds_strict(site):
    built, folder = site
    warnings = [line for line in built.stderr.splitlines() if "WARNING" in line or
                "ERROR" in line]
    assert built.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(warnings[:40])
    for page in ("reference/cli", "reference/config", "reference/export-format"):
        html = (folder / page / "index.html").read_text(encoding="utf-8")
        assert "<table>" in html, page
    api = (folder / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "seqtasks.load" in api and "doc-heading" in api  # mkdocstrings rendered them


def _blank_share(png) -> tuple[float, int]:
    """(share of pixels that are page white, number of distinct colours) of a PNG."""
    from PIL import Image

    with Image.open(png) as image:
        pixels = image.convert("RGB").resize((320, 500))
        colours = pixels.getcolors(maxcolors=1 << 16) or []
        white = sum(count for count, rgb in colours if min(rgb) >= 250)
        return white / (320 * 500), len(colours)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get "
                                             "install chromium); the screenshots need it")
# The home page by default; the tutorial (6 s more) in the slow run.
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name != "home"
                                  else name for name in PAGES])
def test_page_renders_in_headless_chromium(site, name, tmp_path):
    _, folder = site
    page = folder / PAGES[name]
    assert page.is_file(), f"{PAGES[name]} was not built"
    png = tmp_path / f"{name}.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--screenshot={png}", f"--window-size={WINDOW}",
                    page.as_uri()], capture_output=True, timeout=120, check=False)
    assert png.is_file(), "Chromium wrote no screenshot"
    artifacts = os.environ.get("SEQTASKS_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(png, os.path.join(artifacts, png.name))
    assert png.stat().st_size > 20_000, "a nearly empty screenshot"
    white, colours = _blank_share(png)
    # A rendered page: the header bar, text and code colours, not one flat colour.
    assert colours > 50 and white < 0.97, (white, colours)
