"""The operations files and command lines the Serving pages show are the ones the server reads:
each example is cut out of its page and parsed by the same code that serves (no TensorFlow)."""

from __future__ import annotations

import re
import shlex

import pytest
from helpers import ROOT

from seqtasks.serving.config_file import read_model_config
from seqtasks.serving.model_server_flags import parse_flags
from seqtasks.serving.operation_files import read_batching_parameters, read_monitoring_config

SERVING = ROOT / "docs" / "serving"


def code_blocks(page: str) -> list[str]:
    """The bodies of the page's fenced code blocks, in order."""
    text = (SERVING / page).read_text(encoding="utf-8")
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)


def block_starting(page: str, first_line: str) -> str:
    found = [b for b in code_blocks(page) if b.splitlines()[0].strip() == first_line]
    assert len(found) == 1, f"{page}: expected one code block starting {first_line!r}"
    return found[0]


def test_batching_example_parses_as_shown(tmp_path):
    path = tmp_path / "batching.txt"
    path.write_text(block_starting("tensorflow-serving.md", "# batching.txt"), encoding="utf-8")
    parameters = read_batching_parameters(path)
    assert parameters.max_batch_size == 64
    assert parameters.batch_timeout_micros == 2000
    assert parameters.allowed_batch_sizes == (8, 64)


def test_monitoring_example_turns_metrics_on(tmp_path):
    path = tmp_path / "monitoring.txt"
    path.write_text(block_starting("tensorflow-serving.md", "# monitoring.txt"), encoding="utf-8")
    config = read_monitoring_config(path)
    assert config.prometheus_enable
    assert config.prometheus_path == "/monitoring/prometheus/metrics"


def test_model_config_example_parses_as_shown(tmp_path):
    base_path = tmp_path / "models" / "sst2"  # the page's /models/sst2, made here
    base_path.mkdir(parents=True)
    block = block_starting("serve.md", "model_config_list {")
    assert '"/models/sst2"' in block
    path = tmp_path / "models.config"
    path.write_text(block.replace('"/models/sst2"', f'"{base_path}"'), encoding="utf-8")
    (spec,) = read_model_config(path)
    assert spec.name == "sst2"
    assert spec.policy.kind == "specific" and spec.policy.specific == (1, 2)
    assert dict(spec.labels) == {"stable": 1}


def test_model_server_command_line_is_accepted():
    block = block_starting("tensorflow-serving.md", "seqtasks-model-server --port=8500 "
                           "--rest_api_port=8501 --model_name=sst2 \\")
    argv = shlex.split(block.replace("\\\n", " "))
    assert argv[0] == "seqtasks-model-server"
    flags = parse_flags(argv[1:])
    assert (flags.port, flags.rest_api_port, flags.model_name) == (8500, 8501, "sst2")
    assert flags.enable_batching


@pytest.mark.parametrize("flag", ["--grpc_socket_path=/tmp/s", "--no_such_flag=1"])
def test_refused_flags_are_refused_as_the_page_says(flag):
    from seqtasks.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(flag.split("=")[0])):
        parse_flags([flag])
