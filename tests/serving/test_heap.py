"""The serving heap policy (seqtasks/serving/heap.py): what a model load leaves is frozen out of
the garbage collector's full walks, and what a closed version held is still collected."""

import gc
import shutil
import weakref

import pytest

from seqtasks.serving import heap
from seqtasks.serving.config_file import read_model_config
from seqtasks.serving.manager import ModelManager
from tf_serving_models import export_tf2_half_plus_two


class _Cycle:
    """Garbage only the cyclic collector can free (reference counting never reaches zero)."""

    def __init__(self):
        self.me = self


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the test process as it was


def _manager(tmp_path, base):
    config = tmp_path / "models.config"
    config.write_text(f'model_config_list {{ config {{ name: "m" base_path: "{base}" }} }}')
    return ModelManager(read_model_config(config))


def test_a_load_freezes_what_it_leaves(tmp_path, unfrozen):
    export_tf2_half_plus_two(tmp_path / "m" / "1", b=1.0)
    assert gc.get_freeze_count() == 0
    manager = _manager(tmp_path, tmp_path / "m")
    manager.load_initial()
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    manager.sync()  # nothing changed on disk: no new collection or freeze
    assert gc.get_freeze_count() == 0


def test_a_closed_versions_cycles_are_collected(tmp_path, unfrozen):
    base = tmp_path / "m"
    export_tf2_half_plus_two(base / "1", b=1.0)
    manager = _manager(tmp_path, base)
    manager.load_initial()
    first = manager.models["m"].loaded[1]
    first.cycle = _Cycle()  # something of version 1's, frozen with it
    alive = weakref.ref(first.cycle)
    heap.settle()
    del first
    export_tf2_half_plus_two(tmp_path / "staging", b=2.0)
    (tmp_path / "staging").rename(base / "2")
    shutil.rmtree(base / "1")
    manager.sync()  # version 2 in, version 1 retired and (no request holds it) closed
    assert sorted(manager.models["m"].loaded) == [2] and manager.retired == []
    manager.retired = []  # the manager holds no reference to version 1 now
    assert alive() is None, "a frozen cycle of a closed version was never collected"


def test_settle_without_release_keeps_frozen_cycles(unfrozen):
    """The check above can fail: frozen garbage outlives a plain settle."""
    cycle = _Cycle()
    alive = weakref.ref(cycle)
    heap.settle()
    del cycle
    heap.settle()
    assert alive() is not None
    heap.settle(released=True)
    assert alive() is None
