"""Image captioning end to end: a tiny run that learns, export parity from raw PNG / JPEG bytes in
a fresh process, the Python API, batch prediction, the CLI and b64 serving."""

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest

import seqtasks
from helpers import assert_signatures_match_fresh_process, run_cli, task_data
from pipelines import caption
from seqtasks import config as config_lib
from seqtasks.inference.batch import predict_file
from seqtasks.data.caption_sets import DigitReading, write_caption_set
from seqtasks.data.captions import read_captions
from seqtasks.errors import ConfigError, DataError
from seqtasks.training import lifecycle


def tiny_config(**overrides):
    base = caption.CaptionConfig(filters="16,32", units=64, embedding_dim=16,
                                 attention_units=32, epochs=12, batch_size=32,
                                 learning_rate=3e-3, early_stopping_patience=5, beam_size=2,
                                 global_context="max", seed=3)
    return config_lib.replace(base, **overrides)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """800 training and 100 validation images of one handwritten digit each."""
    root = tmp_path_factory.mktemp("digits")
    return write_caption_set(root, DigitReading(1, 1), {"train": 800, "valid": 100}, seed=1)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("caption") / "model"
    return caption.train(tiny_config(), digits["train"], digits["valid"], out, verbose=0)


def jpeg_bytes(path) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_a_tiny_run_learns_single_digits(trained, digits):
    meta = json.loads((trained / "seqtasks.json").read_text())
    assert meta["task"] == "caption" and meta["grid"] == [5, 14]
    assert meta["signatures"] == ["attention", "caption", "serving_default"]
    assert meta["metrics"]["exact_match"] >= 0.9, meta["metrics"]
    metrics = caption.evaluate(trained, digits["valid"], beam_size=1)
    assert metrics["n"] == 100 and metrics["exact_match"] >= 0.9


@pytest.mark.slow  # 16 s; sentiment, NER and the LM reload in a fresh process in the default run
def test_export_in_a_fresh_process_captions_png_and_jpeg_bytes_as_in_memory(digits, tmp_path):
    """An untrained model's in-memory functions against its export reloaded with plain
    TensorFlow: same captions, tokens and attention maps, from PNG and JPEG bytes."""
    config = tiny_config(export_attention=True, max_length=6)  # untrained: captions run long
    data = read_captions(digits["valid"])
    prepared = task_data(caption.TASK, config, digits["valid"], digits["valid"], tmp_path)
    model = caption.TASK.build(config, prepared).model
    functions = caption.serving_functions(model, prepared, config)
    export_dir = lifecycle.export(caption.TASK, config, model, prepared, tmp_path / "m", {}, {},
                                  tmp_path, functions)
    images = [open(data.images[0], "rb").read(), jpeg_bytes(data.images[1]),
              open(data.images[2], "rb").read()]
    calls = [("serving_default", {"image_bytes": (images, "string")}),
             ("attention", {"image_bytes": (images, "string"), "beam_size": (2, "int32")})] + [
        ("caption", {"image_bytes": (images, "string"), "beam_size": (k, "int32"),
                     "length_penalty": (0.0, "float32")}) for k in (1, 3)]
    in_memory = assert_signatures_match_fresh_process(functions, export_dir, calls)
    maps = in_memory[0]["attention"]
    assert maps.shape[0] == 3 and maps.shape[2:] == (5, 14)
    np.testing.assert_allclose(maps.sum((2, 3)), 1.0, rtol=1e-5)


def test_api_captions_paths_bytes_series_and_frames(trained, digits):
    predictor = seqtasks.load(trained.parent)
    data = read_captions(digits["valid"])
    paths = data.images[:6]
    greedy = predictor.caption(paths, beam_size=1)
    assert greedy == predictor.caption([open(p, "rb").read() for p in paths], beam_size=1)
    assert predictor.caption(pd.Series(paths), beam_size=1) == greedy
    assert sum(g == c for g, c in zip(greedy, data.captions[:6])) >= 5
    png_vs_jpeg = predictor.caption([jpeg_bytes(p) for p in paths], beam_size=1)
    assert sum(a == b for a, b in zip(png_vs_jpeg, greedy)) >= 5
    assert predictor.predict(paths) == predictor.caption(paths)  # the model's beam size
    frame = predictor.predict(pd.DataFrame({"id": [1, 2], "image": paths[:2]}), beam_size=1)
    assert list(frame.columns) == ["id", "image", "caption"]
    assert frame.caption.tolist() == greedy[:2]
    rows = predictor.attention(paths[:2])
    for row in rows:
        assert row["output_tokens"][-1] == "[EOS]" and row["attention"].shape[1:] == (5, 14)
        np.testing.assert_allclose(row["attention"].sum((1, 2)), 1.0, rtol=1e-5)
    assert predictor.caption(paths[0], beam_size=1) == greedy[0]  # one image path: its caption
    with open(paths[0], "rb") as image:
        assert predictor.caption(image.read(), beam_size=1) == greedy[0]  # or its bytes
    with pytest.raises(DataError, match="item 1 is int"):
        predictor.caption([paths[0], 3])
    with pytest.raises(DataError, match="cannot read image 0"):
        predictor.caption(["/no/such/image.png"])
    with pytest.raises(ConfigError, match="beam_size must be >= 1"):
        predictor.caption(paths, beam_size=0)


def test_batch_prediction_over_a_folder_and_a_csv_of_paths(trained, digits, tmp_path):
    predictor = seqtasks.load(trained)
    folder = digits["valid"].parent / "images"
    assert predict_file(predictor, folder, tmp_path / "folder.csv", "image") == 900
    result = pd.read_csv(tmp_path / "folder.csv")
    assert list(result.columns) == ["image", "caption"]
    listing = tmp_path / "paths.csv"
    result[["image"]].iloc[::50].assign(id=range(18)).to_csv(listing, index=False)
    predict_file(predictor, listing, tmp_path / "listed.jsonl", "image")
    listed = pd.read_json(tmp_path / "listed.jsonl", lines=True)
    assert listed.caption.tolist() == result.caption.iloc[::50].tolist()


def test_a_file_that_is_not_an_image_is_named_before_tensorflow_sees_it(trained, digits,
                                                                        tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes((digits["valid"].parent / "images" / "valid_00000.png")
                                    .read_bytes())
    (folder / "notes.png").write_text("not an image", encoding="utf-8")
    with pytest.raises(DataError, match=r"notes.png: unreadable image"):
        predict_file(seqtasks.load(trained), folder, tmp_path / "out.csv", "image")
    assert not (tmp_path / "out.csv").exists()


def test_b64_images_through_the_rest_codec(trained, digits):
    """What `seqtasks serve` does with a TF Serving REST body carrying {"b64": ...} images."""
    from seqtasks.serving.codec import decode_inputs, encode_outputs, parse_predict_body
    from seqtasks.serving.models import LoadedVersion

    version = LoadedVersion.load(trained)
    signature = version.signature(None)
    paths = read_captions(digits["valid"]).images[:3]
    body = json.dumps({"instances": [{"b64": base64.b64encode(open(p, "rb").read()).decode()}
                                     for p in paths]}).encode()
    inputs = decode_inputs(parse_predict_body(body), signature, max_rows=8)
    response = encode_outputs(signature(inputs.batched), row_format=True)
    assert [row["caption"] for row in response["predictions"]] == \
        seqtasks.load(trained).caption(paths)


def test_cli_evaluate_json(trained, digits, capsys):
    # Through the CLI's main in process (a real process costs a TensorFlow import; sentiment's
    # test keeps the real-process `evaluate`).
    from pipelines.cli.main import main

    capsys.readouterr()
    assert main(["evaluate", str(trained.parent), "--data", str(digits["valid"]), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"bleu", "exact_match", "n"} <= set(metrics) and metrics["n"] == 100


def test_attention_plot_has_a_panel_per_word(trained, digits, tmp_path):
    image = read_captions(digits["valid"]).images[0]
    caption.attention_plot(seqtasks.load(trained), image, tmp_path / "maps.png")
    assert (tmp_path / "maps.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_cli_trains_caption_and_plots_attention(trained, digits, tmp_path):
    run_cli("train", "caption", "--train", digits["train"], "--valid", digits["valid"],
            "--images", digits["train"].parent, "--out", tmp_path / "m", "--epochs", "1",
            "--quiet", "--set", "filters=8,16", "units=16", "embedding_dim=8")
    assert (tmp_path / "m" / "1" / "seqtasks.json").exists()
    image = read_captions(digits["valid"]).images[0]
    run_cli("attention", trained, "--image", image, "--out", tmp_path / "maps.png")
    assert (tmp_path / "maps.png").read_bytes()[:4] == b"\x89PNG"
