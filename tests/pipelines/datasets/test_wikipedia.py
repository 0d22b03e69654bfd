"""Wikipedia sample: WikiExtractor articles in file order, paragraphs one a line, a blank line
after each article, cut after the article that reaches the character limit."""

import pytest

from pipelines.datasets import prepare, wikipedia
from seqtasks.errors import DataError


def doc(number, title, *lines):
    return (f'<doc id="{number}" url="https://en.wikipedia.org/wiki?curid={number}" '
            f'title="{title}">\n{title}\n\n' + "".join(f"{line}\n" for line in lines) + "</doc>\n")


def write_dump(folder):
    (folder / "AA").mkdir(parents=True)
    (folder / "AB").mkdir()
    (folder / "AA" / "wiki_00").write_text(
        doc(12, "Anarchism", "Anarchism is a philosophy.", " A quoted line. ", "", "History.")
        + doc(25, "Autism", "Autism is a condition."), encoding="utf-8")
    (folder / "AA" / "wiki_01").write_text(doc(39, "Albedo"), encoding="utf-8")  # no text
    (folder / "AB" / "wiki_00").write_text(doc(290, "A", "A is a letter."), encoding="utf-8")
    return folder


def test_articles_in_order_titles_and_tags_dropped(tmp_path):
    prepare("wikipedia", write_dump(tmp_path / "text"), tmp_path / "out")
    assert (tmp_path / "out" / "enwiki_2015_sample.txt").read_text(encoding="utf-8") == (
        "Anarchism is a philosophy.\nA quoted line.\nHistory.\n\nAutism is a condition.\n\n"
        "\nA is a letter.\n\n")


def test_cut_after_the_article_that_reaches_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(wikipedia, "MAX_CHARS", 30)  # reached inside the first article
    prepare("wikipedia", write_dump(tmp_path / "text"), tmp_path / "out")
    assert (tmp_path / "out" / "enwiki_2015_sample.txt").read_text(encoding="utf-8") == \
        "Anarchism is a philosophy.\nA quoted line.\nHistory.\n\n"


@pytest.mark.parametrize("text, problem", [
    ("stray text\n", ":1: text outside a <doc>"),
    (doc(1, "T", "x").removesuffix("</doc>\n"), ": the last <doc> has no </doc>"),
])
def test_malformed_files_are_named(tmp_path, text, problem):
    (tmp_path / "AA").mkdir()
    (tmp_path / "AA" / "wiki_00").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=rf"wiki_00{problem}"):
        prepare("wikipedia", tmp_path, tmp_path / "out")


def test_a_folder_without_parts_says_what_to_pass(tmp_path):
    with pytest.raises(DataError, match="no AA/wiki_00-style files here"):
        prepare("wikipedia", tmp_path, tmp_path / "out")
