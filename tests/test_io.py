"""Atomic writes: a crash leaves nothing half-written."""

import pytest

from seqtasks.io import atomic_dir, atomic_path


def test_atomic_writes_leave_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "1") as tmp:
            (tmp / "saved_model.pb").write_text("half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data, lines", [
    (b"a\nb\n", ["a", "b"]),
    (b"a\r\nb\r\n", ["a", "b"]),
    (b"a\rb\r", ["a", "b"]),
    (b"a\r\n\rb", ["a", "", "b"]),
    (b"\xef\xbb\xbfa\n\n", ["a", ""]),
    (b"", []),
])
def test_text_lines_end_at_lf_crlf_and_lone_cr(tmp_path, data, lines, monkeypatch):
    from seqtasks import io

    path = tmp_path / "t.txt"
    path.write_bytes(data)
    for block in (1, 2, 1 << 20):  # a CRLF split across reads is still one ending
        monkeypatch.setattr(io, "READ_BLOCK", block)
        assert [line for _, line in io.iter_text_lines(path)] == lines


def test_text_line_errors_say_where(tmp_path):
    from seqtasks.errors import DataError
    from seqtasks.io import iter_text_lines

    path = tmp_path / "t.txt"
    path.write_bytes(b"ok\rstill ok\r\nbad \xff\n")
    with pytest.raises(DataError, match=r"t.txt:3: bytes are not valid UTF-8 at column 5"):
        list(iter_text_lines(path))
    path.write_bytes(b"x" * 100)
    with pytest.raises(DataError, match=r"t.txt:1: a line longer than 10 bytes"):
        list(iter_text_lines(path, max_line_bytes=10))
    with pytest.raises(DataError, match="file not found"):
        list(iter_text_lines(tmp_path / "missing.txt"))
