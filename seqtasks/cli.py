"""The ``seqtasks`` command: parse, dispatch to pipelines / library, print. No logic of its own.

TensorFlow is imported only after argument parsing, so ``--help`` answers instantly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

TASKS = ("sentiment",)

EPILOG = "Run 'seqtasks COMMAND --help' for the options of each command."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqtasks", epilog=EPILOG,
        description="Train, evaluate, export and run recurrent sequence models for NLP tasks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a model and export it as a SavedModel",
        description="Train TASK on --train, early-stop on --valid, export to --out/<version>/. "
                    "Rerunning an interrupted command resumes it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Config keys (--set key=value, or a YAML/JSON file with --config):\n"
               "run 'seqtasks config TASK' to list them with defaults.")
    train.add_argument("task", choices=TASKS, help="which pipeline to train")
    train.add_argument("--train", required=True, metavar="FILE", help="training data")
    train.add_argument("--valid", required=True, metavar="FILE", help="validation data")
    train.add_argument("--out", required=True, metavar="DIR", help="export root (TF Serving layout)")
    train.add_argument("--epochs", type=int, help="maximum epochs (same as --set epochs=N)")
    train.add_argument("--time-budget", type=float, metavar="MIN",
                       help="stop training after MIN minutes (same as --set time_budget=MIN)")
    train.add_argument("--config", metavar="FILE.yaml", help="YAML or JSON config file")
    train.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                       help="override config keys, e.g. --set cell=gru units=64")
    train.add_argument("--quiet", action="store_true", help="no progress bars")

    evaluate = commands.add_parser(
        "evaluate", help="score an exported model on labelled data",
        description="Evaluate the newest (or --version) export in DIR on --data.")
    evaluate.add_argument("model_dir", metavar="DIR", help="export root or version directory")
    evaluate.add_argument("--data", required=True, metavar="FILE", help="labelled data")
    evaluate.add_argument("--version", type=int, help="export version (default: newest)")
    evaluate.add_argument("--json", action="store_true",
                          help="print metrics as one JSON object on the last line")
    evaluate.add_argument("--plot", metavar="PNG", help="write a confusion-matrix plot here")

    predict = commands.add_parser(
        "predict", help="batch prediction from a file to a file",
        description="Predict every row of --input (TSV, CSV, JSONL or Parquet) and write "
                    "--output in the format of its extension: original columns, in order, plus "
                    "prediction columns. The output appears only when complete.")
    predict.add_argument("model_dir", metavar="DIR", help="export root or version directory")
    predict.add_argument("--input", required=True, metavar="FILE")
    predict.add_argument("--output", required=True, metavar="FILE")
    predict.add_argument("--text-column", default="text", help="column to predict (default: text)")
    predict.add_argument("--version", type=int, help="export version (default: newest)")
    predict.add_argument("--chunk-size", type=int, default=2048, help="rows per chunk")

    show = commands.add_parser("config", help="list a task's config keys and defaults",
                               description="Print the config keys of TASK with defaults.")
    show.add_argument("task", choices=TASKS)
    show.add_argument("--yaml", action="store_true", help="print a full YAML config instead")
    smcli = commands.add_parser(
        "saved-model-cli", help="TensorFlow's saved_model_cli with the tokenizer ops registered",
        description="Runs tensorflow's saved_model_cli (show, run, ...) after importing "
                    "tensorflow_text, whose ops the exported graphs use. Example: seqtasks "
                    "saved-model-cli run --dir DIR/1 --tag_set serve --signature_def "
                    "serving_default --input_exprs 'text=[\"great film\"]'")
    smcli.add_argument("args", nargs=argparse.REMAINDER, help="saved_model_cli arguments")
    return parser


def _quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing, oneDNN notes) silenced.

    Those lines are written to file descriptor 2 before any log level applies, so stderr is
    pointed at /dev/null for the duration of the import only.
    """
    # 3 also hides C++ "E" lines such as oneDNN's DT_BOOL notice; real failures still raise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
        import tensorflow_text  # noqa: F401

        tensorflow.config.list_physical_devices()  # CUDA probing happens here, silenced
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _train(args) -> None:
    from pipelines import task_module
    from seqtasks import config as config_lib

    module = task_module(args.task)
    overrides = list(args.set)
    if args.epochs is not None:
        overrides.append(f"epochs={args.epochs}")
    if args.time_budget is not None:
        overrides.append(f"time_budget={args.time_budget}")
    config = config_lib.resolve(module.CONFIG, args.config, overrides)
    export_dir = module.train(config, args.train, args.valid, args.out,
                              verbose=0 if args.quiet else "auto")
    print(f"exported {args.task} model to {export_dir}")


def _evaluate(args) -> None:
    from pipelines import task_module
    from seqtasks.export import read_metadata, resolve_export

    export_dir = resolve_export(args.model_dir, args.version)
    module = task_module(read_metadata(export_dir)["task"])
    metrics = module.evaluate(export_dir, args.data, plot=args.plot)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(module.format_metrics(metrics))


def _predict(args) -> None:
    from seqtasks import load
    from seqtasks.batch import predict_file

    predictor = load(args.model_dir, args.version)
    rows = predict_file(predictor, args.input, args.output, args.text_column, args.chunk_size,
                        progress=lambda n: print(f"\r{n} rows", end="", file=sys.stderr))
    print(file=sys.stderr)
    print(f"wrote {rows} rows to {args.output}")


def _config(args) -> None:
    import yaml

    from pipelines import task_module
    from seqtasks import config as config_lib

    module = task_module(args.task)
    if args.yaml:
        print(yaml.safe_dump(config_lib.to_dict(module.CONFIG()), sort_keys=False), end="")
    else:
        print(config_lib.describe(module.CONFIG))


def _saved_model_cli(args) -> None:
    from tensorflow.python.tools import saved_model_cli

    sys.argv = ["saved_model_cli", *args.args]
    saved_model_cli.main()


COMMANDS = {"saved-model-cli": _saved_model_cli, "train": _train, "evaluate": _evaluate, "predict": _predict, "config": _config}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _quiet_tensorflow()
    from seqtasks.errors import SeqtasksError

    try:
        COMMANDS[args.command](args)
    except SeqtasksError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
