"""``seqtasks data``: list the public datasets the recipes use, and prepare one from its official
release (``pipelines.datasets``). Needs no TensorFlow."""

from __future__ import annotations

import argparse
import json


def add_command(commands, subcommand) -> None:
    """The ``data`` subcommand's grammar; ``subcommand`` makes a parser in the CLI's style."""
    data = subcommand(
        commands, "data", help="prepare a public dataset from its official release",
        description="seqtasks data prepare NAME --source PATH -o DIR: read the official release "
                    "of NAME that you downloaded and unpacked at PATH (nothing is downloaded) and "
                    "write the files the recipes read into DIR, atomically, with each file's "
                    "sha256 beside the reference copy's. seqtasks data list: the datasets, where "
                    "each is published and its terms.")
    data.add_argument("what", choices=["prepare", "list"], help="what to do")
    from pipelines.datasets import DATASETS

    data.add_argument("name", nargs="?", choices=list(DATASETS), metavar="NAME",
                      help=f"prepare: the dataset ({', '.join(DATASETS)})")
    data.add_argument("--source", metavar="PATH",
                      help="prepare: the unpacked release (a folder, or its one file)")
    data.add_argument("-o", "--output", "--out", metavar="DIR", dest="output",
                      help="prepare: folder to write into, e.g. data/NAME (created if missing)")
    data.add_argument("--verify", action="store_true",
                      help="prepare: fail, writing nothing, when a file's sha256 is not the "
                           "reference copy's")
    data.add_argument("--json", action="store_true", help="one JSON object a line")


def run(args: argparse.Namespace) -> None:
    from pipelines import datasets
    from seqtasks.errors import ConfigError

    if args.what == "list":
        for name in datasets.DATASETS:
            module = datasets.dataset(name)
            row = {"name": name, "source": module.SOURCE, "terms": module.TERMS}
            print(json.dumps(row) if args.json
                  else f"{name:<16}{module.TERMS}\n{'':<16}{module.SOURCE}")
        return
    missing = [flag for flag, value in (("NAME", args.name), ("--source", args.source),
                                        ("-o DIR", args.output)) if value is None]
    if missing:
        raise ConfigError(f"data prepare needs {', '.join(missing)}: seqtasks data prepare NAME "
                          "--source PATH -o DIR (see docs/data.md)")
    for written in datasets.prepare(args.name, args.source, args.output, args.verify):
        if args.json:
            print(json.dumps({"file": str(written.path), "lines": written.lines,
                              "bytes": written.bytes, "sha256": written.sha256,
                              "reference_sha256": written.reference_sha256}))
        else:
            print(written.describe())
