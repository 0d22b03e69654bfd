"""A sample of English Wikipedia as plain text: WikiExtractor's output of a 2015 dump (folders
``AA``, ``AB``, ... of files ``wiki_00``, ``wiki_01``, ..., each article ``<doc ...>``, its title
line, its paragraphs, ``</doc>``), as published in ``jason-feng/wikiVisual`` folder ``text/``.

The articles in file order, each as its paragraphs one a line (stripped, empty lines dropped, the
title and the tags dropped) and then a blank line, up to and including the article that brings
the text to 100 M characters: ``enwiki_2015_sample.txt``, for ``seqtasks pretrain vectors``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.datasets import release
from seqtasks.errors import DataError

SOURCE = ("https://github.com/jason-feng/wikiVisual/tree/"
          "1c0fac92f29f17c1603bfffbe864e0dfdff66897/text")
TERMS = "CC BY-SA 3.0; attribute the Wikipedia contributors"
PART = re.compile(r"[A-Z]{2}/wiki_\d{2,}")
DOC_START = re.compile(r'<doc id="[^"]*"[^>]*>')
MAX_CHARS = 100_000_000  # where the sample stops (after the article that reaches it)
MAX_FILES = 10_000
MAX_FILE_BYTES = 64 << 20  # WikiExtractor writes about 1 MB a file
REFERENCE_SHA256 = {
    "enwiki_2015_sample.txt": "bdc8293b5519deab93c03079334853c927ba105a900ad12a42d5b1e71416c340",
}


def prepare(source: Path) -> dict[str, str]:
    pieces, chars = [], 0
    for path in _parts(source):
        for article in _articles(path, release.read_text(path, MAX_FILE_BYTES)):
            text = release.joined(article) + "\n"
            pieces.append(text)
            chars += len(text)
            if chars >= MAX_CHARS:
                return {"enwiki_2015_sample.txt": "".join(pieces)}
    if not pieces:
        raise DataError(source, "no <doc> articles", hint="pass WikiExtractor's output folder")
    return {"enwiki_2015_sample.txt": "".join(pieces)}


def _parts(source: Path) -> list[Path]:
    """``AA/wiki_00``, ``AA/wiki_01``, ... ``AB/wiki_00``, ... in order, counted before use."""
    if not source.is_dir():
        raise DataError(source, "not a folder", hint="pass WikiExtractor's output folder "
                                                     "(the one holding AA, AB, ...)")
    parts = []
    for folder in sorted(p for p in source.iterdir() if re.fullmatch(r"[A-Z]{2}", p.name)):
        parts += sorted((p for p in folder.iterdir() if PART.fullmatch(f"{folder.name}/{p.name}")),
                        key=lambda p: int(p.name.removeprefix("wiki_")))
        if len(parts) > MAX_FILES:
            raise DataError(source, f"more than {MAX_FILES:,} files",
                            hint="is this WikiExtractor's output folder?")
    if not parts:
        raise DataError(source, "no AA/wiki_00-style files here",
                        hint="pass WikiExtractor's output folder (the one holding AA, AB, ...)")
    return parts


def _articles(path: Path, text: str):
    """Each article's paragraphs; a line outside ``<doc>`` ... ``</doc>`` is malformed."""
    article = None
    for number, line in enumerate(release.split_lines(text), start=1):
        if article is None:
            if DOC_START.fullmatch(line.strip()):
                article, title_pending = [], True
            elif line.strip():
                raise DataError(path, f"text outside a <doc> ... </doc> article: {line[:40]!r}",
                                line=number, hint="is this WikiExtractor's output?")
        elif line.strip() == "</doc>":
            yield article
            article = None
        elif title_pending:
            title_pending = False  # the article's first line is its title
        elif line.strip():
            article.append(line.strip())
    if article is not None:
        raise DataError(path, "the last <doc> has no </doc>", hint="is the file complete?")
