"""``MODEL_CARD.md``: what an export is, for the people who deploy or reuse it.

Written beside ``seqtasks.json`` inside the export folder before that folder is renamed into
place, from the same metadata dict, so every number in the card is the one in ``seqtasks.json``
(one source): task and kind, the data it was trained on (files, rows, sha256), what it started
from (vectors, a language model), validation metrics, training time and hardware, intended use
and limits, the config, and how to serve and call it.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_CARD_FILE = "MODEL_CARD.md"
STARTING_POINTS = ("embeddings", "source_embeddings", "target_embeddings", "init_from")
LABEL_FIELDS = (("labels", "labels"), ("tags", "tags"))  # metadata key, what the card calls them
MAX_LISTED = 50  # labels / tags listed by name; beyond that, a count


def write_model_card(export_dir: Path, metadata: dict) -> Path:
    """Write ``export_dir/MODEL_CARD.md`` from ``metadata`` (what ``seqtasks.json`` holds)."""
    path = Path(export_dir) / MODEL_CARD_FILE
    path.write_text(model_card(metadata), encoding="utf-8")
    return path


def model_card(metadata: dict) -> str:
    """The card's Markdown text."""
    sections = [_header(metadata), _intended_use(metadata), _data(metadata),
                _starting_point(metadata), _metrics(metadata), _training(metadata),
                _how_to_use(metadata), _config(metadata)]
    return "\n\n".join(section for section in sections if section) + "\n"


def _value(value) -> str:
    """A config or metric value as YAML and ``--set`` write it (true, none, 0.5)."""
    if value is None:
        return "none"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _count(value) -> str:
    return "-" if value is None else f"{value:,}"


def _header(metadata: dict) -> str:
    task, kind = metadata.get("task", "?"), metadata.get("kind", "?")
    lines = [f"# Model card: {task} ({kind}), version {metadata.get('version', '?')}", "",
             f"- task: `{task}`; kind: `{kind}` (what `seqtasks.load` and servers go by)",
             f"- exported: {metadata.get('exported_at', '?')}",
             f"- signatures: {', '.join(f'`{s}`' for s in metadata.get('signatures', []))}"]
    tables = metadata.get("input_tables") or []
    if tables:  # why the export is larger than its weights
        lines.append("- serving graph: input tables of " + ", ".join(
            f"`{t['layer']}` ({t['rows']:,} × {t['columns']:,}, {t['bytes'] / 2**20:.1f} MiB)"
            for t in tables) + "; the LSTM's input products looked up per word")
    versions = metadata.get("library_versions") or {}
    if versions:
        lines.append("- built with: " + ", ".join(f"{name} {version}"
                                                  for name, version in versions.items()))
    return "\n".join(lines)


def _intended_use(metadata: dict) -> str:
    config = metadata.get("config", {})
    lines = ["## Intended use and limits", "",
             f"A `{metadata.get('task')}` model for text like its training data (below): the "
             "language and domain it knows are that data's; accuracy on other languages, "
             "domains or registers is unknown and likely lower. Check the validation metrics "
             "on data of your own before relying on it."]
    for key, name in LABEL_FIELDS:
        known = metadata.get(key)
        if known:
            listed = ", ".join(f"`{label}`" for label in known[:MAX_LISTED])
            more = f" and {len(known) - MAX_LISTED} more" if len(known) > MAX_LISTED else ""
            lines += ["", f"The {len(known)} {name} it knows (it predicts no other): "
                      f"{listed}{more}."]
    facts = []
    if "level" in config:
        facts.append(f"reads text at the `{config['level']}` level")
    if config.get("lowercase") is not None:
        facts.append("lowercases its input" if config["lowercase"] else "keeps case")
    if config.get("max_length"):
        facts.append(f"reads at most {config['max_length']} tokens of an input (the rest is "
                     "cut off)")
    if metadata.get("vocab_size"):
        facts.append(f"knows {metadata['vocab_size']:,} tokens; others are read as [UNK]")
    share = (metadata.get("training") or {}).get("valid_unknown_share")
    if share is not None:
        facts.append(f"{share:.1%} of the validation tokens were [UNK]")
    if facts:
        lines += ["", "It " + "; ".join(facts) + "."]
    return "\n".join(lines)


def _data(metadata: dict) -> str:
    data = metadata.get("data")
    if not data:
        return ""
    lines = ["## Training data", "",
             "| split | source | file | examples | lines | bytes | sha256 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for split in ("train", "valid"):
        entry = data.get(split) or {}
        examples = entry.get("examples")
        for file in entry.get("files", []):
            lines.append(f"| {split} | {entry.get('source', 'file')} | `{file['name']}` | "
                         f"{_count(examples)} | {_count(file['lines'])} | "
                         f"{_count(file['bytes'])} | `{file['sha256']}` |")
    lines += ["", "Examples are what the reader kept (rows, sentences, pairs; for a language "
              "model, lines); in-memory data was written to files of the task's format to train."]
    return "\n".join(lines)


def _starting_point(metadata: dict) -> str:
    config = metadata.get("config", {})
    training = metadata.get("training") or {}
    started = [f"- `{key}`: {config[key]}" for key in STARTING_POINTS if config.get(key)]
    coverage = [f"- {key}: {json.dumps(training[key])}" for key in STARTING_POINTS
                if isinstance(training.get(key), dict)]
    body = started + coverage if started else ["- randomly initialised (no pretrained vectors "
                                               "or language model)"]
    return "\n".join(["## Starting point", "", *body])


def _metrics(metadata: dict) -> str:
    metrics = metadata.get("metrics") or {}
    scalars = {k: v for k, v in metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not scalars:
        return ""
    main = (metadata.get("main_score") or {}).get("name")
    lines = ["## Validation metrics", ""]
    refit = (metadata.get("training") or {}).get("refit")
    if metrics.get("data") and refit:
        lines += [f"On `{metrics['data']}` (the validation split), by the first pass, before "
                  f"this model was refit on train + valid for {refit.get('epochs')} epochs: "
                  "scores of the exported model on the validation split would say nothing, "
                  "as it has learned it.", ""]
    elif metrics.get("data"):
        lines += [f"On `{metrics['data']}` (the validation split, through the exported "
                  "signatures):", ""]
    lines += ["| metric | value |", "| --- | --- |"]
    for name, value in scalars.items():
        shown = f"**{_value(value)}** (main score)" if name == main else _value(value)
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)


def _training(metadata: dict) -> str:
    training = metadata.get("training") or {}
    if not training:
        return ""
    keys = ("train_seconds", "epochs_run", "best_epoch", "stopped_by", "resumed", "parameters",
            "keras_backend")
    lines = ["## Training", ""]
    lines += [f"- {key}: {_value(training[key])}" for key in keys if key in training]
    lines += [f"- {key}: {_value(value)}" for key, value in training.items()
              if key.endswith("_per_second")]
    refit = training.get("refit") or {}
    if refit:
        lines.append(f"- refit: trained again from scratch on train + valid "
                     f"({_value(refit.get('examples'))} examples) for {refit.get('epochs')} "
                     f"epochs, the first pass's best, in {_value(refit.get('train_seconds'))} s")
    hardware = training.get("hardware") or {}
    if hardware:
        lines.append("- hardware: " + "; ".join(f"{key} {_value(value)}"
                                                for key, value in hardware.items()))
    return "\n".join(lines)


def _how_to_use(metadata: dict) -> str:
    name = metadata.get("task", "model")
    signature = (metadata.get("signatures") or ["serving_default"])
    default = "serving_default" if "serving_default" in signature else signature[0]
    return "\n".join([
        "## How to serve and call it", "",
        "`DIR` is this folder's parent (the export root, newest version served) or this folder.",
        "", "```bash",
        "seqtasks predict DIR --input in.csv --output out.csv   # a file, in batches",
        f"seqtasks serve {name}=DIR                              # TF Serving's REST and gRPC",
        f"seqtasks-model-server --model_name={name} --model_base_path=DIR --rest_api_port=8501",
        f"curl -d '{{\"signature_name\": \"{default}\", \"instances\": [\"some text\"]}}' \\",
        f"    http://127.0.0.1:8501/v1/models/{name}:predict",
        "```", "", "```python", "import seqtasks",
        "model = seqtasks.load(\"DIR\")",
        "model.predict(\"some text\")          # one result; a list or a DataFrame works too",
        "```", "",
        "The Python answer has the shape of the REST answer; the stock `tensorflow_model_server` "
        "serves the folder too (it needs the tensorflow-text ops)."])


def _config(metadata: dict) -> str:
    config = metadata.get("config") or {}
    if not config:
        return ""
    width = max(map(len, config))
    return "\n".join(["## Config", "", "```yaml",
                      *(f"{key + ':':<{width + 1}} {_value(value)}"
                        for key, value in config.items()), "```"])
