"""seqtasks/serving/metrics.py: the loaded-versions gauge follows live config changes (a model
added, one whose base path changed, one removed) and version polling, read at each scrape."""

from __future__ import annotations

import shutil

from prometheus_client.parser import text_string_to_metric_families


def loaded_versions(client) -> dict[str, float]:
    text = client.get("/monitoring/prometheus/metrics").text
    return {sample.labels["model"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "seqtasks_serving_loaded_versions" for sample in family.samples}


def test_loaded_versions_after_live_config_changes(half_plus_two, half_plus_three, tmp_path):
    from starlette.testclient import TestClient

    from seqtasks.serving.app import create_app
    from seqtasks.serving.manager import ModelManager, ModelSpec, VersionPolicy

    manager = ModelManager([ModelSpec("two", half_plus_two)])
    app = create_app(manager)
    manager.load_initial()
    with TestClient(app) as client:
        assert loaded_versions(client) == {"two": 1}
        manager.apply_specs([ModelSpec("two", half_plus_two),
                             ModelSpec("three", half_plus_three)])  # added live
        assert loaded_versions(client) == {"two": 1, "three": 1}

        both = tmp_path / "both"  # "two" moved to a base path with two versions, both served
        shutil.copytree(half_plus_two / "00000123", both / "1")
        shutil.copytree(half_plus_two / "00000123", both / "2")
        manager.apply_specs([ModelSpec("two", both, VersionPolicy("all")),
                             ModelSpec("three", half_plus_three)])
        assert loaded_versions(client) == {"two": 2, "three": 1}

        manager.apply_specs([ModelSpec("two", both, VersionPolicy("all"))])  # three removed
        assert loaded_versions(client) == {"two": 2, "three": 0}

        shutil.rmtree(both / "1")  # a version gone from disk, found by the poller's scan
        manager.sync()
        assert loaded_versions(client) == {"two": 1, "three": 0}
