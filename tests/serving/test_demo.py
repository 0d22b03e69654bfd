"""The demo page (``--demo``) in headless Chromium (Debian's ``chromium`` package): it calls the
REST API and draws label bars, entities inline, a translation with its attention heatmap.
Skipped where /usr/bin/chromium is absent; the screenshot path is printed (pytest -s)."""

import re
import shutil
import subprocess
import urllib.parse

import httpx2 as httpx
import pytest

from seqtasks.serving.app import ServerConfig, create_app
from seqtasks.serving.models import load_models

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="no chromium on PATH (apt-get install chromium)")


def export_fake_ner(path):
    """A SavedModel with NER's entity outputs: capitalised words are entities (ORG if all
    capitals, else PER), with byte offsets into the text."""
    import tensorflow as tf
    import tensorflow_text as text

    class FakeNER(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            words, starts, ends = text.WhitespaceTokenizer().tokenize_with_offsets(texts)
            keep = tf.strings.regex_full_match(words, "[A-Z].*")
            words, starts, ends = (tf.ragged.boolean_mask(t, keep) for t in (words, starts, ends))
            types = tf.where(tf.strings.regex_full_match(words.flat_values, "[A-Z]+"), "ORG", "PER")
            return {"entity_text": words.to_tensor(""),
                    "entity_type": words.with_flat_values(types).to_tensor(""),
                    "entity_start": tf.cast(starts.to_tensor(-1), tf.int32),
                    "entity_end": tf.cast(ends.to_tensor(-1), tf.int32),
                    "entity_count": tf.cast(words.row_lengths(), tf.int32)}

    module = FakeNER()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


def export_fake_translation(path):
    """Translation's attention outputs: the words reversed, each attending to its source word."""
    import tensorflow as tf

    class FakeTranslation(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def attention(self, texts):
            words = tf.strings.split(texts)
            lengths = tf.cast(words.row_lengths(), tf.int32)
            source = words.to_tensor("")
            flipped = tf.reverse_sequence(source, lengths, seq_axis=1, batch_axis=0)
            eos = tf.fill([tf.shape(source)[0], 1], "[EOS]")
            steps = tf.range(tf.shape(source)[1] + 1)
            index = tf.maximum(lengths[:, None] - 1 - steps[None, :], 0)
            return {"translation": tf.strings.reduce_join(flipped, axis=1, separator=" "),
                    "source_tokens": source, "output_tokens": tf.concat([flipped, eos], 1),
                    "weights": tf.one_hot(index, tf.shape(source)[1])}

    module = FakeTranslation()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.attention,
                                                       "attention": module.attention})


def export_fake_generator(path):
    """A language model's generate signature: scalar sampling inputs, ``text`` samples out."""
    import tensorflow as tf

    class FakeGenerator(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                      tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
                                      tf.TensorSpec([], tf.bool)])
        def generate(self, prompt, num_samples, temperature, allow_unk):
            repeated = tf.repeat(prompt, num_samples)
            numbers = tf.strings.as_string(tf.range(num_samples))
            suffix = tf.strings.join([" sample ", numbers, " at t=",
                                      tf.strings.as_string(temperature, precision=1),
                                      tf.where(allow_unk, " unk", "")])
            return {"text": tf.strings.join([repeated, suffix])}

    module = FakeGenerator()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.generate})


@pytest.fixture(scope="module")
def demo_url(sentiment_models, tmp_path_factory, serve_app):
    base = tmp_path_factory.mktemp("demo")
    export_fake_ner(base / "ner" / "1")
    export_fake_translation(base / "translate" / "1")
    export_fake_generator(base / "lm" / "1")
    models = {**sentiment_models, **load_models([f"ner={base / 'ner'}",
                                                 f"translate={base / 'translate'}",
                                                 f"lm={base / 'lm'}"])}
    with serve_app(create_app(models, ServerConfig(), demo=True)) as url:
        yield url


def chromium(*flags: str, url: str) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=20000", *flags, url],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def page(url: str, **params) -> str:
    return url + "/?" + urllib.parse.urlencode({**params, "run": "1"})


def test_the_demo_is_off_unless_asked(sentiment_models, serve_app):
    with serve_app(create_app(sentiment_models)) as url:
        assert httpx.get(url + "/").status_code == 404


def test_label_bars(demo_url):
    dom = chromium("--dump-dom", url=page(demo_url, model="sentiment",
                                          text="a gorgeous , witty film"))
    assert 'data-state="answered"' in dom, dom[-3000:]
    assert 'data-label="neg"' in dom and 'data-label="pos"' in dom and "label: " in dom


def test_entities_inline_and_attention_heatmap(demo_url, tmp_path):
    dom = chromium("--dump-dom", url=page(demo_url, model="ner",
                                          text="Ada Lovelace met the BBC in London"))
    assert 'data-state="answered"' in dom, dom[-3000:]
    marks = re.findall(r'<mark data-type="(\w+)"[^>]*>(\w+)<span', dom)
    assert marks == [("PER", "Ada"), ("PER", "Lovelace"), ("ORG", "BBC"), ("PER", "London")]
    assert "met the " in dom  # the text between entities is kept as it is

    dom = chromium("--dump-dom", url=page(demo_url, model="translate", text="one two three"))
    assert 'data-state="answered"' in dom, dom[-3000:]
    # one full cell per output token ([EOS] included)
    assert "three two one" in dom and dom.count('title="1.000"') == 4

    screenshot = tmp_path / "demo-translate.png"
    chromium(f"--screenshot={screenshot}", "--window-size=1000,900",
             url=page(demo_url, model="translate", text="one two three"))
    assert screenshot.stat().st_size > 5000
    print(f"demo screenshot: {screenshot}")


def test_generated_samples_with_scalar_inputs_from_the_form(demo_url):
    dom = chromium("--dump-dom", url=page(demo_url, model="lm", text="once upon",
                                          num_samples="3", temperature="0.5"))
    assert 'data-state="answered"' in dom, dom[-3000:]
    samples = re.findall(r'<div class="sample">([^<]*)</div>', dom)
    assert samples == [f"once upon sample {i} at t=0.5" for i in range(3)]


def test_errors_show_on_the_page(demo_url):
    dom = chromium("--dump-dom", url=page(demo_url, model="lm", text="x", num_samples="many"))
    assert 'data-state="failed"' in dom, dom[-3000:]
    error = re.search(r'<div id="error">([^<]*)</div>', dom).group(1)
    assert error.startswith("400: ") and "num_samples" in error
