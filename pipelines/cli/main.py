"""The ``seqtasks`` command: parse, dispatch to the tasks and the library, print. The one place
that knows every task (``pipelines.TASKS``); no logic of its own.

TensorFlow is imported only after argument parsing, so ``--help`` answers instantly.
"""

from __future__ import annotations

import json
import os
import sys

from pipelines.cli.args import build_parser
from pipelines.cli.reorder import positionals_first


def _progress_log(quiet: bool):
    """Where long commands' progress lines go: stderr, or nowhere with --quiet."""
    if quiet:
        return lambda line: None
    return lambda line: print(line, file=sys.stderr, flush=True)


def _config_overrides(args) -> list[str]:
    """``--set`` pairs, then the flags that stand for config keys (--epochs, --time-budget, ...)."""
    overrides = list(args.set)
    for key in ("epochs", "time_budget", "level"):
        if getattr(args, key, None) is not None:
            overrides.append(f"{key}={getattr(args, key)}")
    return overrides


def _train(args) -> None:
    import seqtasks
    from pipelines import task
    from seqtasks import config as config_lib

    chosen = task(args.task)
    config = config_lib.resolve(chosen.config_class, args.config, _config_overrides(args))
    images = {"images": args.images} if args.images else {}
    export_dir = seqtasks.train(chosen, config, args.train, args.valid, args.output,
                                verbose=0 if args.quiet else "auto", **images)
    print(f"exported {args.task} model to {export_dir}")


def _offering(capability) -> str:
    """The tasks that offer ``capability`` (for an error message)."""
    from pipelines import TASKS, task

    return ", ".join(name for name in TASKS if isinstance(task(name), capability))


def _evaluate(args) -> None:
    from pipelines import task
    from seqtasks.export.layout import read_metadata, resolve_export
    from seqtasks.task.capabilities import FormatsMetrics

    export_dir = resolve_export(args.model_dir, args.version)
    trained = task(read_metadata(export_dir)["task"])
    images = {"images": args.images} if args.images else {}
    metrics = trained.evaluate(export_dir, args.data, plot=args.plot, **images)
    if args.json or not isinstance(trained, FormatsMetrics):
        print(json.dumps(metrics))
    else:
        print(trained.format_metrics(metrics))


def _predict(args) -> None:
    from seqtasks import load
    from seqtasks.inference.batch import predict_file
    from seqtasks.inference.progress import ProgressBar

    predictor = load(args.model_dir, args.version)
    progress = None if args.quiet else ProgressBar(sys.stderr)
    try:
        rows = predict_file(predictor, args.input, args.output,
                            args.text_column or predictor.input_column,
                            args.chunk_size, progress=progress, restart=args.restart,
                            prediction_prefix=args.prefix)
    finally:
        if progress:
            progress.close()
    print(f"wrote {rows} rows to {args.output}")


def _generate(args) -> None:
    from seqtasks import load
    from seqtasks.errors import ModelError
    from seqtasks.export.kinds import LANGUAGE_MODEL

    predictor = load(args.model_dir, args.version)
    if predictor.kind != LANGUAGE_MODEL:
        raise ModelError(f"{predictor.export_dir} is a {predictor.kind} model; "
                         "generate needs a language model (seqtasks train lm)")
    prompts = None if args.prompt is None else [args.prompt]
    samples = predictor.generate(prompts, args.max_length, args.temperature, args.top_k,
                                 args.top_p, args.num_samples, args.seed, args.allow_unk)
    print("\n\n".join(samples[0]))


def _compare(args) -> None:
    from pipelines import task
    from seqtasks import config as config_lib
    from seqtasks.experiments import compare

    chosen = task(args.task)
    overrides = _config_overrides(args)
    base = config_lib.resolve(chosen.config_class, args.config, overrides)
    runs = compare.file_runs(base, args.runs) if args.runs \
        else compare.grid_runs(base, compare.parse_grid(args.grid))
    settings = {"train": args.train, "valid": args.valid, "runs": args.runs or " ".join(args.grid),
                "base overrides": " ".join(overrides) or "none", "seed": base.seed}
    report = compare.compare(chosen, runs, args.train, args.valid, args.output, settings,
                             verbose=0 if args.quiet else "auto",
                             log=_progress_log(args.quiet))
    print(f"wrote {report}")


def _diagnose(args) -> None:
    from seqtasks.errors import ConfigError

    if args.task == "adding":
        from seqtasks.experiments import adding

        try:
            lengths = tuple(int(n) for n in args.length.split(","))
        except ValueError:
            raise ConfigError(f"--length expects numbers like 50,100,200, got {args.length!r}")
        config = adding.AddingConfig(
            cells=tuple(c.strip() for c in args.cells.split(",") if c.strip()), lengths=lengths,
            units=args.units, steps=args.steps, minutes=args.minutes, seed=args.seed)
        table = adding.main(config, args.output, log=_progress_log(args.quiet))
        print(table.read_text(encoding="utf-8"), end="")
        print(f"wrote {table.parent / 'adding.png'}")
        return
    if args.model_dir is None:
        raise ConfigError("diagnose needs an export DIR, or --task adding")
    from pipelines import task
    from seqtasks.diagnostics.flow import diagnose_export
    from seqtasks.errors import ModelError
    from seqtasks.export.layout import read_metadata, resolve_export
    from seqtasks.task.capabilities import ProbesGradients

    export_dir = resolve_export(args.model_dir, args.version)
    trained = task(read_metadata(export_dir)["task"])
    if not isinstance(trained, ProbesGradients):
        raise ModelError(f"{export_dir}: gradient flow is not available for {trained.name} "
                         f"models yet ({_offering(ProbesGradients)} are)")
    print(f"wrote {diagnose_export(trained, export_dir, args.data, args.output, args.batch_size)}")


def _attention(args) -> None:
    from pipelines import task
    from seqtasks import load
    from seqtasks.errors import ModelError
    from seqtasks.task.capabilities import PlotsAttention

    predictor = load(args.model_dir, args.version)
    trained = task(predictor.task)
    if not isinstance(trained, PlotsAttention):
        raise ModelError(f"{predictor.export_dir} is a {trained.name} model; attention plots "
                         f"need a model of a task that draws them ({_offering(PlotsAttention)})")
    source = args.image if args.image else args.text
    path = trained.attention_plot(predictor, source, args.output, args.beam_size)
    print(f"wrote {path}")


def _pretrain(args) -> None:
    from seqtasks.transfer.pretrain_vectors import VectorsRecipe, pretrain_vectors

    recipe = VectorsRecipe(method=args.method, dim=args.dim, epochs=args.epochs,
                           min_count=args.min_count, max_words=args.max_words,
                           lowercase=not args.keep_case)
    print(json.dumps(pretrain_vectors(args.corpus, args.output, recipe,
                                      verbose=not args.quiet)))


def _vectors(args) -> None:
    from seqtasks.text.named_vectors import table

    rows = table()
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'name':<16}{'words':>9}{'dim':>5}  {'installed':<10}{'license':<38}package")
    for row in rows:
        print(f"{row['name']:<16}{row['words']:>9,}{row['dim']:>5}  {row['installed']:<10}"
              f"{row['license']:<38}{row['package']}")
        if row["installed"] == "no":
            print(f"{'':<16}install: {row['install']}")
        print(f"{'':<16}cite: {row['citation']}")


def _config(args) -> None:
    """Needs no TensorFlow: the config classes live in ``pipelines.configs``."""
    import yaml

    from pipelines.cli.config_table import describe
    from pipelines.configs import CONFIGS
    from seqtasks import config as config_lib

    config_class = CONFIGS[args.task]
    if args.yaml:
        print(yaml.safe_dump(config_lib.to_dict(config_class()), sort_keys=False), end="")
    else:
        print(describe(args.task, config_class))


def _info(args) -> None:
    from pipelines.cli import info

    if args.model_dir is None:
        report = info.environment()
        print(json.dumps(report) if args.json else info.format_environment(report))
    else:
        report = info.export_info(args.model_dir, args.version)
        print(json.dumps(report) if args.json else info.format_export(report))


MAX_SERVE_WORKERS = 64  # each worker loads every model: a typo must not start thousands
MAX_GRPC_LISTENERS = 64  # each is a gRPC server with its own accept loop


def _serve(args) -> None:
    from seqtasks.errors import ConfigError
    from seqtasks.serving.app import ServerConfig
    from seqtasks.serving.limits import RequestLimits
    from seqtasks.serving.models import SessionThreads
    from seqtasks.serving.server import serve

    if args.max_batch_size < 1 or args.batch_timeout_ms < 0 or args.max_body_mb <= 0 \
            or args.poll_seconds < 0 or min(args.intra_op, args.inter_op) < 0:
        raise ConfigError("--max-batch-size must be >= 1, --batch-timeout-ms >= 0, "
                          "--max-body-mb > 0, --poll-seconds >= 0 and the "
                          "--tensorflow_*_parallelism thread counts >= 0")
    sizes = {"--max-tensor-elements": args.max_tensor_elements,
             "--max-string-bytes": args.max_string_bytes,
             "--max-num-samples": args.max_num_samples,
             "--max-decode-length": args.max_decode_length, "--max-beam-size": args.max_beam_size}
    for flag, value in sizes.items():
        if value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")
    if args.timeout_ms < 0 or args.shutdown_grace_s < 0:
        raise ConfigError("--rest_api_timeout_in_ms and --shutdown-grace-s must be >= 0")
    if not 1 <= args.workers <= MAX_SERVE_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_SERVE_WORKERS}, got "
                          f"{args.workers}")
    if not 1 <= args.grpc_listeners <= MAX_GRPC_LISTENERS:
        raise ConfigError(f"--grpc-listeners must be between 1 and {MAX_GRPC_LISTENERS}, got "
                          f"{args.grpc_listeners}")
    if not args.model_dirs and not args.model_config_file:
        raise ConfigError("serve: pass NAME=BASE_PATH arguments or --model-config-file")
    limits = RequestLimits(max_tensor_elements=args.max_tensor_elements,
                           max_string_bytes=args.max_string_bytes,
                           max_num_samples=args.max_num_samples,
                           max_decode_length=args.max_decode_length,
                           max_beam_size=args.max_beam_size)
    config = ServerConfig(max_batch_size=args.max_batch_size,
                          batch_timeout_ms=args.batch_timeout_ms,
                          max_body_bytes=int(args.max_body_mb * 2**20),
                          timeout_ms=args.timeout_ms, limits=limits,
                          shutdown_grace_s=args.shutdown_grace_s,
                          grpc_listeners=args.grpc_listeners)
    serve(args.model_dirs, args.host, args.port, config, args.all_versions, args.access_log,
          args.grpc_port, args.model_config_file, args.poll_seconds, args.demo,
          SessionThreads(args.intra_op, args.inter_op), args.workers)


def _data(args) -> None:
    from pipelines.cli import data

    data.run(args)


def _saved_model_cli(args) -> None:
    from tensorflow.python.tools import saved_model_cli

    sys.argv = ["saved_model_cli", *args.args]
    saved_model_cli.main()


COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "generate": _generate,
            "attention": _attention, "compare": _compare, "diagnose": _diagnose,
            "config": _config, "vectors": _vectors, "pretrain": _pretrain, "serve": _serve,
            "saved-model-cli": _saved_model_cli, "info": _info, "data": _data}
# Commands that never need TensorFlow: its startup settings are not even imported for them.
WITHOUT_TENSORFLOW = {"config", "info", "data"}


def _check_predict_paths(args) -> None:
    """The model directory, the input and the output's folder, before TensorFlow loads."""
    from pathlib import Path

    from seqtasks.errors import DataError
    from seqtasks.export.layout import resolve_export

    resolve_export(args.model_dir, args.version)
    if not Path(args.input).exists():
        raise DataError(args.input, "file not found")
    folder = Path(args.output).absolute().parent
    if not folder.is_dir():
        raise DataError(args.output, f"the output directory {folder} does not exist",
                        hint="create it first")


INTERRUPTED = "interrupted: rerun the same command to resume"


# Argument checks that need no TensorFlow: a mistake is reported at once.
PRECHECKS = {"predict": _check_predict_paths}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(positionals_first(parser, sys.argv[1:] if argv is None else argv))
    from seqtasks.errors import SeqtasksError

    try:
        if args.command in PRECHECKS:
            PRECHECKS[args.command](args)
        if args.command not in WITHOUT_TENSORFLOW:
            from seqtasks.startup import quiet_tensorflow

            quiet_tensorflow()
        COMMANDS[args.command](args)
    except SeqtasksError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    return 0


def run() -> None:
    """The console script: ``main``'s exit status. After a Ctrl-C the process ends without the
    interpreter's teardown, which can crash on TensorFlow threads an interrupted fit leaves
    running; everything a resume reads is already on disk (written atomically)."""
    from seqtasks.training import interrupt

    # The whole process is the command's: a second Ctrl-C ends it at once. (``main`` called from
    # other Python code leaves that process's SIGINT handling as it found it.)
    interrupt.install_for_process(on_repeat=INTERRUPTED)
    status = main()
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    run()
