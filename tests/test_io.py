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
