"""Language models (word or character level): next-token prediction trained with truncated
BPTT, exported with sampling and scoring inside the graph.

Config -> Data -> Build -> Export -> the Task, top to bottom; ``seqtasks.training.lifecycle``
runs the training.

    import seqtasks
    from pipelines import language_model as lm
    config = lm.LanguageModelConfig(level="char", eos_at_line_end=False, epochs=5)
    export_dir = lm.train(config, "data/lm/shakespeare_train.txt",
                          "data/lm/shakespeare_valid.txt", "saved_models/lm")
    print(seqtasks.load(export_dir).generate(["ROMEO:"], max_length=200, top_k=10))
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from pipelines.configs import LanguageModelConfig
from seqtasks import config as config_lib
from seqtasks.export import kinds
from seqtasks.data import in_memory
from seqtasks.data.corpus import (StreamLayout, build_vocabulary, corpus_tokens, encode_corpus,
                                  iter_line_chunks, tbptt_dataset)
from seqtasks.decoding import RuntimeSampler, sample_loop
from seqtasks.decoding.caps import MAX_GENERATED_TOKENS, MAX_NUM_SAMPLES, capped
from seqtasks.decoding.scoring import sequence_log_probs
from seqtasks.errors import ConfigError, DataError
from seqtasks.layers.embedding import TiedEmbedding
from seqtasks.layers.recurrent import recurrent_stack, state_sizes
from seqtasks.evaluation.metrics import language_model_metrics
from seqtasks.task import Built, ExportAssets, Prepared, Splits, Task
from seqtasks.training.losses import TokenCrossentropy
from seqtasks.training.tbptt import ResetCarriedState, TruncatedBPTT
from seqtasks.text import Vocabulary, pretrained
from seqtasks.text.encoder import pad_dense
from seqtasks.text.lines import LineEncoder
from seqtasks.text.tokenizers import CharTokenizer, WhitespaceTokenizer, WordTokenizer
from seqtasks.text.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, unknown_share
from seqtasks import transfer
from seqtasks.training import distributed, lifecycle

WORD_SPLITS = {"whitespace": WhitespaceTokenizer, "punctuation": WordTokenizer}
SCORE_WINDOW = 128  # positions of logits in memory at once while scoring
LINES_PER_DOCUMENT = 100  # evaluation scores a file as documents of this many lines


# --- Config ------------------------------------------------------------------------------------

# The config dataclass lives in pipelines/configs.py (no TensorFlow there).


# --- Data --------------------------------------------------------------------------------------

def make_encoder(config: LanguageModelConfig, vocabulary: Vocabulary) -> LineEncoder:
    tokenizer = CharTokenizer(config.lowercase) if config.level == "char" \
        else WORD_SPLITS[config.word_split](config.lowercase)
    unknown_word = config.unknown_word if config.level == "word" else None
    return LineEncoder(vocabulary, tokenizer, config.eos_at_line_end, unknown_word or None,
                       backward=config.direction == "backward")


@dataclasses.dataclass
class LanguageModelData:
    encoder: LineEncoder
    train_ids: np.ndarray
    valid_ids: np.ndarray
    valid_path: Path
    # pretrained vectors (none by default)
    transfer: transfer.Transfer = dataclasses.field(default_factory=transfer.Transfer)


def windows(config: LanguageModelConfig, ids: np.ndarray, workers: int = 1) -> tf.data.Dataset:
    """TBPTT windows of ``batch_size`` streams per worker; [BOS] is given at line starts, never
    a target."""
    layout = StreamLayout(len(ids), config.batch_size * workers, config.bptt_steps,
                          config.stride)
    return tbptt_dataset(ids, layout, ignored_targets=(BOS_ID,))


# --- Build -------------------------------------------------------------------------------------

def build(config: LanguageModelConfig, vocab_size: int) -> keras.Model:
    """[token ids [batch, time], *states] -> [logits [batch, time, vocab], *final states].

    States (``state_sizes(config)``, zeros for a new text) carry a text across calls: the
    TBPTT windows of training, the windows of scoring and the single steps of sampling.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    states = [keras.Input(shape=(size,), name=f"state_{i}")
              for i, size in enumerate(state_sizes(config))]
    if config.tie_embeddings:
        embedding = TiedEmbedding(vocab_size, config.embedding_dim, name="embedding")
    else:
        embedding = keras.layers.Embedding(vocab_size, config.embedding_dim, name="embedding")
    x = keras.layers.Dropout(config.dropout, name="embedding_dropout")(embedding(token_ids))
    x, final_states = recurrent_stack(x, config, return_sequences=True, name="decoder",
                                      initial_state=states, return_state=True,
                                      mask=keras.ops.not_equal(token_ids, PAD_ID))
    x = keras.layers.Dropout(config.dropout, name="output_dropout")(x)
    if not config.tie_embeddings:
        logits = keras.layers.Dense(vocab_size, name="output")(x)
    else:
        if config.units != config.embedding_dim:
            x = keras.layers.Dense(config.embedding_dim, name="tied_projection")(x)
        logits = embedding(x, reverse=True)
    return keras.Model([token_ids, *states], [logits, *final_states], name="language_model")


def build_trainer(config: LanguageModelConfig, vocab_size: int) -> TruncatedBPTT:
    """The step model (what is exported) inside its TBPTT training wrapper."""
    return TruncatedBPTT(build(config, vocab_size), config.batch_size, config.bptt_steps,
                         config.stride)


# --- Export ------------------------------------------------------------------------------------

def echo_prompt(before: tf.Tensor, after: tf.Tensor, level: str) -> tf.Tensor:
    """The user's prompt as typed (not its ids: no [UNK], no case folding) and the sample, in
    reading order (``before`` then ``after``); words are separated by a space unless ``before``
    ends in whitespace or either side is empty."""
    if level == "char":
        return tf.strings.join([before, after])
    needs_space = tf.logical_and(
        tf.logical_and(tf.strings.length(before) > 0, tf.strings.length(after) > 0),
        tf.logical_not(tf.strings.regex_full_match(before, r"(?s).*\s")))
    return tf.strings.join([before, tf.where(needs_space, " ", ""), after])


def serving_functions(model: keras.Model, encoder: LineEncoder, config: LanguageModelConfig
                      ) -> dict:
    """``generate`` (also ``serving_default``) and ``score``, strings in, the loops in-graph."""
    sizes = state_sizes(config)

    def zero_state(batch_size):
        return [tf.zeros([batch_size, size]) for size in sizes]

    def window_step(ids, state):  # ids [batch, time]
        logits, *state = model([ids, *state], training=False)
        return logits, state

    def token_step(ids, state):  # ids [batch]
        logits, state = window_step(ids[:, tf.newaxis], state)
        return logits[:, 0], state

    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec([None], tf.string, name="prompt"),
        tf.TensorSpec([], tf.int32, name="max_length"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.float32, name="top_p"),
        tf.TensorSpec([], tf.int32, name="num_samples"),
        tf.TensorSpec([], tf.int32, name="seed"),
        tf.TensorSpec([], tf.bool, name="allow_unk")])
    def generate(prompt, max_length, temperature, top_k, top_p, num_samples, seed, allow_unk):
        # In-graph caps, so that any server (stock TF Serving too) refuses a runaway request.
        num_samples = capped(num_samples, MAX_NUM_SAMPLES, "num_samples")
        max_length = capped(max_length, max(config.max_length, MAX_GENERATED_TOKENS),
                            "max_length")
        prompts = encoder.prompt_ids(tf.repeat(prompt, num_samples))
        ids, lengths = pad_dense(prompts), tf.cast(prompts.row_lengths(), tf.int32)
        last = tf.gather(ids, lengths - 1, batch_dims=1)
        before_last = tf.range(tf.shape(ids)[1])[tf.newaxis, :] < lengths[:, tf.newaxis] - 1
        _, state = window_step(tf.where(before_last, ids, PAD_ID), zero_state(tf.shape(ids)[0]))
        banned = tf.boolean_mask([PAD_ID, BOS_ID, UNK_ID],
                                 tf.stack([True, True, tf.logical_not(allow_unk)]))
        new_ids, new_lengths = sample_loop(
            token_step, state, last, max_length, RuntimeSampler(temperature, top_k, top_p),
            EOS_ID, tf.stack([seed, 0]), banned)
        continuation = encoder.detokenize(tf.RaggedTensor.from_tensor(new_ids,
                                                                      lengths=new_lengths))
        typed = tf.repeat(prompt, num_samples)  # a backward LM writes what comes before it
        text = echo_prompt(continuation, typed, config.level) \
            if config.direction == "backward" else echo_prompt(typed, continuation, config.level)
        return {"text": text,
                "continuation": continuation, "length": new_lengths}

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def score(text):
        ids = encoder.encode(text)
        log_prob, n_tokens = sequence_log_probs(
            window_step, zero_state(tf.shape(text)[0]), pad_dense(ids), ids.row_lengths(),
            SCORE_WINDOW, ignored_targets=(BOS_ID,))
        return {"log_prob": log_prob, "n_tokens": n_tokens,
                "perplexity": tf.exp(-log_prob / tf.cast(n_tokens, tf.float32))}

    return {"generate": generate, "score": score}


# --- Evaluate ----------------------------------------------------------------------------------

def score_file(score: Callable[[list[str]], dict], path, level: str, batch_size: int = 32
               ) -> dict:
    """Metrics of a text file, scored as documents of ``LINES_PER_DOCUMENT`` lines (the state
    flows through each document, as through the training streams). ``score``: texts -> arrays
    ``log_prob`` and ``n_tokens``, the ``score`` signature's outputs."""
    log_prob, n_tokens = 0.0, 0
    documents = iter_line_chunks(path, LINES_PER_DOCUMENT)
    while batch := [text for _, text in zip(range(batch_size), documents)]:
        out = score(batch)
        log_prob += float(np.sum(np.asarray(out["log_prob"]), dtype=np.float64))
        n_tokens += int(np.sum(np.asarray(out["n_tokens"])))
    if n_tokens == 0:
        raise DataError(path, "no tokens to score", hint="the file has no text")
    return language_model_metrics(log_prob, n_tokens, level)


# --- The task ----------------------------------------------------------------------------------

class LanguageModel(transfer.TransferTask, Task[LanguageModelConfig, LanguageModelData]):
    name = "lm"
    kind = kinds.LANGUAGE_MODEL
    main_score = ("perplexity", "min")
    config_class = LanguageModelConfig
    multi_worker = True
    train_backends = ("tensorflow", "torch")  # backend-neutral layers (seqtasks.layers.torch_rnn)

    def check(self, config) -> None:
        if config.init_from:
            raise ConfigError("init_from initialises task encoders from a language model; to "
                              "go on training an LM, resume its run or train a new one")
        if config.embeddings and config.level != "word":
            raise ConfigError("embeddings are word vectors: set level=word (level is "
                              f"'{config.level}')")
        if config.bidirectional:
            raise ConfigError("a language model reads in one direction; set bidirectional=false "
                              "(direction=backward for right to left)")
        if config.direction == "backward" and not config.eos_at_line_end:
            raise ConfigError("direction=backward reads each line right to left: it needs "
                              "eos_at_line_end=true")
        if not 1 <= config.stride <= config.bptt_steps:
            raise ConfigError(f"need 1 <= bptt_stride (k1) <= bptt_steps (k2), got "
                              f"k1={config.stride}, k2={config.bptt_steps}")

    def read(self, config, train_path, valid_path) -> Splits:
        """The corpora are streamed from their files (``prepare``), never held in memory."""
        return Splits(Path(train_path), Path(valid_path))

    def write_examples(self, config, examples, directory, split):
        """Texts, written one after another as the corpus file (a text may hold lines)."""
        return in_memory.text_lines(examples, directory, split, one_line=False)

    def prepare(self, config, splits, run) -> Prepared:
        """The vocabulary (with pretrained vectors) from the training corpus, streamed."""
        counting = make_encoder(config, Vocabulary([]))
        # the vectors initialise the vocabulary's rows but do not extend it: every word of a
        # language model is also an output, and one never seen in training is a waste
        vocabulary, parts = transfer.prepare(
            config, corpus_tokens(splits.train, counting.tokens),
            lambda: build_vocabulary(splits.train, counting.tokens, config.min_count,
                                     config.max_vocab_size),
            pretrained.normalised_forms(config.lowercase), run, config.embeddings, extend=False)
        return {"vocab": vocabulary, "embeddings": parts}

    def data(self, config, splits, prepared, run) -> LanguageModelData:
        """Both corpora encoded to id files in the run directory."""
        encoder = make_encoder(config, prepared["vocab"])
        return LanguageModelData(encoder,
                                 encode_corpus(splits.train, encoder.encode, run.path("train.ids")),
                                 encode_corpus(splits.valid, encoder.encode, run.path("valid.ids")),
                                 splits.valid, prepared["embeddings"])

    def datasets(self, config, data):
        """Training streams for every worker (each takes its ``batch_size`` rows of every
        window); validation runs on each worker alone."""
        return (windows(config, data.train_ids, distributed.worker_count()),
                windows(config, data.valid_ids))

    def training_units(self, config, data) -> int:
        """Every position of every stream is a new target once: windows x batch x stride."""
        layout = StreamLayout(len(data.train_ids), config.batch_size, config.bptt_steps,
                              config.stride)
        return layout.n_windows * config.batch_size * config.stride

    def validation_unknown_share(self, config, data) -> float:
        return unknown_share(data.valid_ids)

    def build(self, config, data) -> Built:
        trainer = build_trainer(config, len(data.encoder.vocabulary))
        return Built(trainer, data.transfer.apply(trainer.step_model, config, "embedding",
                                                  trainable=config.embeddings_trainable))

    def exported(self, model):
        return model.step_model

    def compile_options(self, config, model) -> dict:
        return {"loss": TokenCrossentropy()}

    def signatures(self, config, model, data) -> dict:
        return serving_functions(model.step_model, data.encoder, config)

    def callbacks(self, config, model, data, signatures) -> list:
        return [ResetCarriedState()]

    def validation_metrics(self, config, data, signatures) -> dict:
        score = signatures["score"]
        return score_file(lambda texts: score(tf.constant(texts)), data.valid_path, config.level)

    def export_assets(self, config, model, data, work_dir) -> ExportAssets:
        vocab_path = work_dir / "vocab.txt"
        data.encoder.vocabulary.save(vocab_path)
        return ExportAssets(data.encoder.resources, {"vocab.txt": vocab_path},
                            {"vocab_size": len(data.encoder.vocabulary)})

    def score(self, predictor, data_path, plot) -> dict:
        """Perplexity, nats per token, (char level) bits per character on a text file."""
        return score_file(predictor.score_outputs, data_path, predictor.metadata["config"]["level"])

    def format_metrics(self, metrics: dict) -> str:
        line = f"perplexity {metrics['perplexity']:.2f}  nats/token {metrics['nats_per_token']:.4f}"
        if "bits_per_char" in metrics:
            line += f"  bits/char {metrics['bits_per_char']:.4f}"
        return line + f"  tokens {metrics['n_tokens']}"

    def gradient_probe(self, export_dir, data_path, batch_size: int = 16):
        """For ``seqtasks diagnose``: the export's architecture, and ``batch_size`` windows of
        ``bptt_steps`` tokens from the start of ``data_path``. The loss is the next-token loss at
        the window's last position only, so the curve shows how far back that one prediction
        reaches."""
        from seqtasks.diagnostics.flow import GradientProbe
        from seqtasks.export.layout import read_metadata

        metadata = read_metadata(export_dir)
        config = config_lib.from_dict(LanguageModelConfig, metadata["config"])
        encoder = make_encoder(config, Vocabulary.load(Path(export_dir) / "assets" / "vocab.txt"))
        ids = encoder.encode(tf.constant([next(iter_line_chunks(data_path))])).flat_values.numpy()
        length = config.bptt_steps + 1
        rows = min(batch_size, len(ids) // length)
        if rows < 1:
            raise DataError(data_path, f"fewer than {length} tokens", hint="use a longer text")
        windows = ids[: rows * length].reshape(rows, length)
        zeros = [np.zeros((rows, size), "float32") for size in state_sizes(config)]
        inputs = [windows[:, :-1], *zeros]
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return GradientProbe(lambda: build(config, metadata["vocab_size"]), inputs,
                             lambda outputs: loss(windows[:, -1], outputs[0][:, -1]))


TASK = LanguageModel()
train = functools.partial(lifecycle.train, TASK)  # train(config, train, valid, out_dir)
evaluate = TASK.evaluate  # evaluate(export_dir, data)
