"""``seqtasks.load`` picks the predictor by the export's kind (seqtasks.json), and by its task
for exports written before seqtasks.json recorded a kind."""

import json

import pytest

import seqtasks
from seqtasks.errors import ModelError
from seqtasks.export import kinds
from seqtasks.inference.predictors import (PREDICTORS, AutoencoderPredictor, CaptionPredictor,
                                           ClassifierPredictor, LanguageModelPredictor,
                                           TaggerPredictor, TranslationPredictor)


@pytest.fixture(scope="module")
def classifier_graph(tmp_path_factory):
    """A SavedModel with a classifier's outputs: "pos" when the text holds "good"."""
    import tensorflow as tf

    class FakeClassifier(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def __call__(self, text):
            good = tf.strings.regex_full_match(text, ".*good.*")
            probabilities = tf.stack([tf.where(good, 0.1, 0.9), tf.where(good, 0.9, 0.1)], -1)
            return {"label": tf.where(good, "pos", "neg"), "probabilities": probabilities}

    module = FakeClassifier()
    path = tmp_path_factory.mktemp("graph") / "saved"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
    return path


def export(graph, root, **metadata):
    """An export version: the graph, and a seqtasks.json with ``metadata``."""
    import shutil

    version = root / "1"
    shutil.copytree(graph, version)
    (version / "seqtasks.json").write_text(json.dumps({"labels": ["neg", "pos"], **metadata}))
    return version


def test_the_kind_picks_the_predictor_whatever_the_task_is_called(classifier_graph, tmp_path):
    # a task this seqtasks has never heard of, and one named like another kind's task
    for task in ("reviews", "lm"):
        predictor = seqtasks.load(export(classifier_graph, tmp_path / task, task=task,
                                         kind="classifier"))
        assert type(predictor) is ClassifierPredictor and predictor.kind == kinds.CLASSIFIER
        assert [r["label"] for r in predictor.predict(["good film", "dull"])] == ["pos", "neg"]


@pytest.mark.parametrize("task, predictor_class", [
    ("sentiment", ClassifierPredictor), ("ner", TaggerPredictor),
    ("lm", LanguageModelPredictor), ("translate", TranslationPredictor),
    ("autoencoder", AutoencoderPredictor), ("caption", CaptionPredictor)])
def test_an_export_without_a_kind_loads_by_its_task(classifier_graph, tmp_path, task,
                                                    predictor_class):
    predictor = seqtasks.load(export(classifier_graph, tmp_path / "m", task=task))
    assert type(predictor) is predictor_class and predictor.kind == kinds.LEGACY_TASK_KINDS[task]


@pytest.mark.parametrize("metadata", [{"task": "reviews"}, {"task": "reviews", "kind": "regressor"},
                                      {"kind": "regressor"}, {}])
def test_an_export_of_no_known_kind_is_one_line_naming_the_file(classifier_graph, tmp_path,
                                                                metadata):
    version = export(classifier_graph, tmp_path / "m", **metadata)
    with pytest.raises(ModelError) as raised:
        seqtasks.load(version)
    message = str(raised.value)
    assert str(version) in message and "\n" not in message and "classifier" in message


def test_every_kind_has_one_predictor_and_every_legacy_task_a_kind():
    assert set(PREDICTORS) == set(kinds.KINDS)
    assert set(kinds.LEGACY_TASK_KINDS.values()) <= set(kinds.KINDS)


def test_every_pipeline_declares_its_kind_and_main_score():
    import importlib

    from pipelines import TASKS

    for name, module in TASKS.items():
        task = importlib.import_module(module).TASK
        assert task.kind in kinds.KINDS, name
        # exports written before the kind was recorded still load as what they are
        assert kinds.LEGACY_TASK_KINDS[name] == task.kind, name
        score, mode = task.main_score
        assert score and mode in ("max", "min"), name


def test_a_trained_export_records_its_kind_and_main_score(sentiment_export):
    export_dir, _ = sentiment_export
    metadata = json.loads((export_dir / "seqtasks.json").read_text())
    assert metadata["kind"] == "classifier"
    assert metadata["main_score"] == {"name": "accuracy", "mode": "max"}
    assert metadata["main_score"]["name"] in metadata["metrics"]


def test_generate_and_init_from_go_by_the_kind_not_the_task_name(classifier_graph, tmp_path,
                                                                 capsys):
    """A classifier whose task happens to be called "lm" is no language model to either."""
    from pipelines.cli.main import main  # in process: a real process costs a TensorFlow import
    from seqtasks.errors import ConfigError
    from seqtasks.transfer.warm_start import read_language_model

    version = export(classifier_graph, tmp_path / "m", task="lm", kind="classifier")
    with pytest.raises(ConfigError, match="init_from takes language-model exports"):
        read_language_model(version)
    assert main(["generate", str(version)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {version} is a classifier model; generate needs a language model (seqtasks train lm)"]
