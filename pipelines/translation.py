"""Translation (many-to-many, different lengths): a sentence in, its translation out.

Config -> Data -> Build -> Export -> the Task, top to bottom. An attentional
encoder–decoder (Bahdanau et al., 2015; Luong et al., 2015) on WordPiece subwords learned per
language: recurrent encoder, recurrent decoder attending over the encoder states (or not:
``attention=none`` is the fixed-context baseline), teacher forcing or scheduled sampling, label
smoothing; greedy or beam-search decoding inside the exported graph.

    from pipelines import translation
    config = translation.TranslationConfig(epochs=5)
    export_dir = translation.train(config, ("train.de", "train.en"), ("val.de", "val.en"),
                                   "saved_models/de-en")
    print(translation.evaluate(export_dir, ("val.de", "val.en")))
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from pathlib import Path

import tensorflow as tf

from pipelines.configs import TranslationConfig
from seqtasks import config as config_lib
from seqtasks.export import kinds
from seqtasks.data import in_memory
from seqtasks.data.parallel import ParallelText, read_parallel
from seqtasks.data.batching import parallel_dataset
from seqtasks.decoding.encoder_decoder_loop import Seq2SeqDecoder
from seqtasks.errors import ConfigError, DataError
from seqtasks.evaluation.metrics import translation_metrics
from seqtasks.evaluation.plots import attention_grid_png, attention_png
from seqtasks.inference.predictors.translation import translate_texts
from seqtasks.models.encoder_decoder import Seq2Seq, build_seq2seq
from seqtasks.task import Built, ExportAssets, Prepared, Splits
from seqtasks.text import Vocabulary, make_tokenizer, pretrained
from seqtasks.text.encoder import TextEncoder
from seqtasks.text.learn import learn_vocabulary
from seqtasks.text.tokenizers import tokenize_to_python
from seqtasks.text.vocab import EOS_ID, unknown_share
from seqtasks.task.encoder_decoder import EncoderDecoderTask
from seqtasks import transfer
from seqtasks.training import lifecycle

TEXT = tf.TensorSpec([None], tf.string, name="text")


# --- Config ------------------------------------------------------------------------------------

# The config dataclass lives in pipelines/configs.py (no TensorFlow there).


# --- Data --------------------------------------------------------------------------------------

@dataclasses.dataclass
class TranslationData:
    train: ParallelText
    valid: ParallelText
    source: TextEncoder
    target: TextEncoder
    transfer: dict[str, transfer.Transfer]  # source_embeddings / target_embeddings


# --- Build -------------------------------------------------------------------------------------

def build(config: TranslationConfig, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """(source ids, decoder input ids) -> target logits."""
    return build_seq2seq(config, source_vocab_size, target_vocab_size,
                         scheduled_sampling=config.sampling_schedule != "none", seed=config.seed,
                         name="translator")


# --- Export ------------------------------------------------------------------------------------

def serving_functions(model: Seq2Seq, data: TranslationData, config: TranslationConfig) -> dict:
    """``serving_default``: text -> translation (config's beam size and length penalty);
    ``translate``: text, beam_size, length_penalty -> translation; with attention also
    ``attention``: text, beam_size -> translation, tokens and weights [batch, output, source].
    All three call one traced ``decode`` function, so the decoding loops are built once; all are
    traced with autograph off, as the export traces them."""
    decoder = Seq2SeqDecoder(model, config.max_output_ratio, config.max_output_offset,
                             config.max_length)
    beam_size_spec = tf.TensorSpec([], tf.int32, name="beam_size")

    @tf.function(autograph=False, input_signature=[
        TEXT, beam_size_spec, tf.TensorSpec([], tf.float32, name="length_penalty")])
    def decode(text, beam_size, length_penalty):
        source_ids = data.source.dense(text)
        ids, lengths = decoder(source_ids, beam_size, length_penalty)
        translation = data.target.decode(tf.RaggedTensor.from_tensor(ids, lengths=lengths))
        return {"translation": translation, "source_ids": source_ids, "ids": ids,
                "lengths": lengths}

    @tf.function(autograph=False, input_signature=[TEXT])
    def serving_default(text):
        out = decode(text, tf.constant(config.beam_size), tf.constant(config.length_penalty))
        return {"translation": out["translation"]}

    @tf.function(autograph=False, input_signature=decode.input_signature)
    def translate(text, beam_size, length_penalty):
        return {"translation": decode(text, beam_size, length_penalty)["translation"]}

    @tf.function(autograph=False, input_signature=[TEXT, beam_size_spec])
    def attention(text, beam_size):
        out = decode(text, beam_size, tf.constant(config.length_penalty))
        eos = tf.fill([tf.shape(out["ids"])[0], 1], EOS_ID)
        source_tokens = data.source.tokens(text)
        return {"translation": out["translation"],
                "source_tokens": source_tokens.to_tensor(""),
                "source_length": tf.cast(source_tokens.row_lengths(), tf.int32),
                "output_tokens": data.target.lookup.tokens(tf.concat([out["ids"], eos], 1)),
                "output_length": out["lengths"] + 1,
                "weights": decoder.attention(out["source_ids"], out["ids"])}

    functions = {"serving_default": serving_default, "translate": translate}
    if config.attention != "none":
        functions["attention"] = attention
    return functions


def attention_plot(predictor, text: str, path: str | Path, beam_size: int = 1) -> Path:
    """The attention heatmap of ``text``'s translation (rows: output tokens, then [EOS])."""
    row = predictor.attention([text], beam_size=beam_size)[0]
    return attention_png(row["weights"], row["source_tokens"], row["output_tokens"], path,
                         title=f"{row['translation']}")




# --- The task ----------------------------------------------------------------------------------

class Translation(transfer.TransferTask,
                  EncoderDecoderTask[TranslationConfig, TranslationData]):
    name = "translate"
    kind = kinds.SEQUENCE_TO_SEQUENCE
    main_score = ("bleu", "max")
    config_class = TranslationConfig
    shared_vocabulary = False  # one vocabulary for both sides (the autoencoder's)
    throughput_unit = "tokens"  # target tokens, [EOS] included
    evaluation_plot = "attention heatmap of the first sentence"

    def read(self, config, train_paths, valid_paths) -> Splits:
        """Training pairs over ``max_words`` are skipped and counted; every validation pair is
        scored."""
        return Splits(read_parallel(train_paths, config.max_words), read_parallel(valid_paths))

    def is_data_path(self, value) -> bool:
        """A TSV file, or two aligned files (source, target) as a list."""
        return in_memory.is_path(value) or (
            isinstance(value, (list, tuple)) and 1 <= len(value) <= 2
            and all(in_memory.is_path(item) for item in value))

    def write_examples(self, config, examples, directory, split):
        """``(source, target)`` sentence pairs."""
        return in_memory.sentence_pairs(examples, directory, split)

    def prepare(self, config, splits, run) -> Prepared:
        """The vocabularies (with pretrained parts), learned per language or shared."""
        train = splits.train
        sides = {"source_embeddings": config.source_embeddings,
                 "target_embeddings": config.target_embeddings}

        def learn(texts):
            return learn_vocabulary(texts, config.level, config.lowercase,
                                    config.max_vocab_size, config.min_count)

        def pretrained_side(name, texts, learned, extend):
            tokens = tokenize_to_python(make_tokenizer("word", config.lowercase), texts) \
                if sides[name] or (extend and config.init_from) else []
            return transfer.prepare(
                config, tokens, learned, pretrained.normalised_forms(config.lowercase), run,
                sides[name], extend=extend, name=name,
                init_from=config.init_from if extend else "")

        # pretrained words extend the source side only: a target word the decoder never saw
        # as a target would only widen its softmax; init_from is the encoder's
        source_vocab, source_parts = pretrained_side(
            "source_embeddings", train.sources, lambda: learn(train.sources), extend=True)
        target_vocab, target_parts = pretrained_side(
            "target_embeddings", train.targets, (lambda: source_vocab)
            if self.shared_vocabulary else lambda: learn(train.targets), extend=False)
        return {"source_vocab": source_vocab, "target_vocab": target_vocab,
                "source_embeddings": source_parts, "target_embeddings": target_parts}

    def data(self, config, splits, prepared, run) -> TranslationData:
        train = splits.train
        if train.skipped["blank"] or train.skipped["too_long"]:
            print(f"{train.path}: skipped {train.skipped['blank']} blank and "
                  f"{train.skipped['too_long']} pairs over max_words={config.max_words}",
                  file=sys.stderr)

        def encoder(vocabulary):
            return TextEncoder(vocabulary, config.level, config.lowercase, config.max_length)

        return TranslationData(
            train, splits.valid, encoder(prepared["source_vocab"]),
            encoder(prepared["target_vocab"]),
            {name: prepared[name] for name in ("source_embeddings", "target_embeddings")})

    def datasets(self, config, data):
        def make(split: ParallelText, shuffle: bool):
            return parallel_dataset(split.sources, split.targets, data.source, data.target,
                                    config.batch_size, config.max_length, shuffle, config.seed,
                                    config.bucket_by_length)

        return make(data.train, shuffle=True), make(data.valid, shuffle=False)

    def training_units(self, config, data) -> int:
        lengths = data.target(tf.constant(data.train.targets)).row_lengths()
        return int(tf.reduce_sum(lengths)) + len(data.train)

    def data_summary(self, config, data) -> dict:
        return {"train_pairs": len(data.train), "skipped_pairs": data.train.skipped,
                **{key: value for name, side in data.transfer.items()
                   for key, value in side.summary(name).items()}}

    def validation_unknown_share(self, config, data) -> float:
        return unknown_share(data.source(tf.constant(data.valid.sources)))

    def check(self, config) -> None:
        super().check(config)
        if (config.source_embeddings or config.target_embeddings or config.init_from) \
                and config.level != "word":
            raise ConfigError(f"source_embeddings, target_embeddings and init_from work on "
                              f"words: set level=word (level is '{config.level}')")

    def build(self, config, data) -> Built:
        model = build(config, len(data.source.vocabulary), len(data.target.vocabulary))
        trainable = config.embeddings_trainable
        source = data.transfer["source_embeddings"].apply(
            model.trainer, config, "source_embedding", trainable=trainable)
        target = pretrained.assign_embedding(
            model.decoder.embedding, data.transfer["target_embeddings"].vectors, trainable)
        return Built(model, source + target)

    def signatures(self, config, model, data) -> dict:
        return serving_functions(model, data, config)

    def validation_metrics(self, config, data, signatures) -> dict:
        hypotheses = translate_texts(signatures["translate"], data.valid.sources,
                                     config.beam_size, config.length_penalty)
        return {**translation_metrics(data.valid.targets, hypotheses, config.lowercase),
                "beam_size": config.beam_size}

    def export_assets(self, config, model, data, work_dir) -> ExportAssets:
        files = {"source_vocab.txt": work_dir / "source_vocab.txt",
                 "target_vocab.txt": work_dir / "target_vocab.txt"}
        data.source.vocabulary.save(files["source_vocab.txt"])
        data.target.vocabulary.save(files["target_vocab.txt"])
        return ExportAssets(data.source.resources + data.target.resources, files, {
            "source_vocab_size": len(data.source.vocabulary),
            "target_vocab_size": len(data.target.vocabulary),
            "embedding_size": int(model.encoder.output["summary"].shape[-1])})

    def read_evaluation(self, data_paths) -> ParallelText:
        return read_parallel(data_paths)

    def score(self, predictor, data_paths, plot, beam_size: int | None = None) -> dict:
        """BLEU, chrF (sacrebleu) and exact matches of the export's translations of a parallel
        file; ``plot``: the attention heatmap of its first sentence."""
        data = self.read_evaluation(data_paths)
        start = time.monotonic()
        hypotheses = predictor.translate(data.sources, beam_size=beam_size)
        seconds = time.monotonic() - start
        config = predictor.metadata["config"]
        metrics = translation_metrics(data.targets, hypotheses, config["lowercase"])
        metrics.update(beam_size=beam_size or config["beam_size"],
                       predict_seconds=round(seconds, 3))
        if plot:
            self.attention_plot(predictor, data.sources[0], plot)
        return metrics

    def format_metrics(self, metrics: dict) -> str:
        return (f"BLEU {metrics['bleu']:.2f}  chrF {metrics['chrf']:.2f}  exact "
                f"{metrics['exact_match']:.4f}  n {metrics['n']}  beam {metrics['beam_size']}\n"
                f"{metrics['bleu_signature']}\n{metrics['chrf_signature']}")

    def attention_plot(self, predictor, source, path, beam_size: int = 1) -> Path:
        return attention_plot(predictor, source, path, beam_size)

    def comparison_figure(self, exports, valid_paths, path) -> Path | None:
        """Each run's attention heatmap for the first validation source, side by side (None
        when a run was trained without attention)."""
        from seqtasks.inference.load import load

        predictors = {name: load(export) for name, export in exports.items()}
        if not all("attention" in p.model.signatures for p in predictors.values()):
            return None
        try:
            text = self.read_evaluation(valid_paths).sources[0]
        except DataError:
            return None
        panels = []
        for name, predictor in predictors.items():
            row = predictor.attention([text])[0]
            panels.append((f"{name}: {row['translation']}", row["weights"],
                           row["source_tokens"], row["output_tokens"]))
        return attention_grid_png(panels, path)

    def gradient_probe(self, export_dir, data_paths, batch_size: int = 16):
        """For ``seqtasks diagnose``: the export's encoder–decoder, and the first ``batch_size``
        pairs of ``data_paths`` with the training loss (teacher forcing); the states probed are
        the encoder's, over source positions."""
        from seqtasks.diagnostics.flow import GradientProbe
        from seqtasks.export.layout import read_metadata
        from seqtasks.training.losses import SmoothedSparseCrossentropy

        metadata = read_metadata(export_dir)
        config = config_lib.from_dict(TranslationConfig, metadata["config"])
        pairs = read_parallel(data_paths)
        source, target = (TextEncoder(Vocabulary.load(Path(export_dir) / "assets" / name),
                                      config.level, config.lowercase, config.max_length)
                          for name in ("source_vocab.txt", "target_vocab.txt"))
        inputs, targets, weights = next(iter(parallel_dataset(
            pairs.sources[:batch_size], pairs.targets[:batch_size], source, target, batch_size,
            config.max_length, shuffle=False, seed=config.seed, bucket_by_length=False)))
        loss = SmoothedSparseCrossentropy(config.label_smoothing)
        return GradientProbe(
            lambda: build(config, metadata["source_vocab_size"],
                          metadata["target_vocab_size"]).trainer,
            inputs, lambda logits: loss(targets, logits, sample_weight=weights),
            positions="source position t")


TASK = Translation()
train = functools.partial(lifecycle.train, TASK)  # train(config, train, valid, out_dir)
evaluate = TASK.evaluate  # evaluate(export_dir, data)
