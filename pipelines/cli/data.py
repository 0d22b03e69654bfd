"""``seqtasks data``: list the public datasets the recipes use, and prepare one from its official
release (``pipelines.datasets``). Needs no TensorFlow."""

from __future__ import annotations

import argparse
import json


def add_command(commands, subcommand) -> None:
    """The ``data`` subcommand's grammar; ``subcommand`` makes a parser in the CLI's style."""
    from pipelines.datasets import DATASETS

    data = subcommand(
        commands, "data", help="prepare a public dataset from its official release",
        description="seqtasks data prepare NAME --source PATH -o DIR: read the official release "
                    "of NAME that you downloaded and unpacked at PATH (nothing is downloaded) and "
                    "write the files the recipes read into DIR. seqtasks data list: the datasets, "
                    "where each is published and its terms.")
    actions = data.add_subparsers(dest="what", required=True, metavar="ACTION",
                                  help="prepare a dataset, or list them")
    prepare = subcommand(
        actions, "prepare", help="turn an official release into the files the recipes read",
        description="Read the release of NAME unpacked at PATH and write the files the recipes "
                    "read into DIR, each atomically, printing each file's lines, bytes and sha256 "
                    "beside the reference copy's (the one the documented results were measured "
                    "on). Malformed input stops it with FILE:LINE.")
    prepare.add_argument("name", choices=list(DATASETS), metavar="NAME",
                         help=f"the dataset: {', '.join(DATASETS)}")
    prepare.add_argument("--source", required=True, metavar="PATH",
                         help="the unpacked release (its folder, or its one file)")
    prepare.add_argument("-o", "--output", "--out", required=True, metavar="DIR", dest="output",
                         help="folder to write into, e.g. data/NAME (created if missing)")
    prepare.add_argument("--verify", action="store_true",
                         help="fail, writing nothing, when a file's sha256 is not the reference "
                              "copy's")
    prepare.add_argument("--json", action="store_true", help="one JSON object a file")
    listing = subcommand(actions, "list", help="the datasets, their sources and terms",
                         description="Every dataset 'data prepare' takes: name, terms, source.")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")


def run(args: argparse.Namespace) -> None:
    from pipelines import datasets

    if args.what == "list":
        for name in datasets.DATASETS:
            module = datasets.dataset(name)
            row = {"name": name, "source": module.SOURCE, "terms": module.TERMS}
            print(json.dumps(row) if args.json
                  else f"{name:<16}{module.TERMS}\n{'':<16}{module.SOURCE}")
        return
    for written in datasets.prepare(args.name, args.source, args.output, args.verify):
        if args.json:
            print(json.dumps({"file": str(written.path), "lines": written.lines,
                              "bytes": written.bytes, "sha256": written.sha256,
                              "reference_sha256": written.reference_sha256}))
        else:
            print(written.describe())
