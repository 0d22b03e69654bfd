"""The layering the README's Architecture section draws: ``seqtasks/`` never imports
``pipelines/``, and the library's folders import each other one way only (no cycles)."""

import ast
from pathlib import Path

from helpers import ROOT

LIBRARY = ROOT / "seqtasks"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions, absolute names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def layer_of(module: str) -> str | None:
    """``seqtasks.training.fit`` -> ``training``; root modules are layers of their own."""
    parts = module.split(".")
    if parts[0] != "seqtasks" or len(parts) < 2:
        return None
    return parts[1] if (LIBRARY / parts[1]).is_dir() or (LIBRARY / f"{parts[1]}.py").exists() \
        else None


def layer_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in LIBRARY.rglob("*.py"):
        relative = path.relative_to(LIBRARY)
        source = relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 \
            else relative.stem
        if source == "__init__":
            continue
        targets = {layer_of(m) for m in imported_modules(path)} - {None, source}
        graph.setdefault(source, set()).update(targets)
    return graph


def test_the_library_never_imports_the_pipelines():
    offenders = {str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                                       if m.split(".")[0] == "pipelines")
                 for path in LIBRARY.rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_library_layers_import_each_other_one_way():
    graph = layer_graph()
    cycles = set()

    def visit(layer, path):
        for target in graph.get(layer, ()):
            if target in path:
                cycles.add(" -> ".join(path[path.index(target):] + [target]))
            else:
                visit(target, path + [target])

    for layer in graph:
        visit(layer, [layer])
    assert cycles == set()


def test_the_checker_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from pipelines import sentiment\n    import seqtasks.text\n")
    assert {"pipelines", "pipelines.sentiment", "seqtasks.text"} <= imported_modules(sample)
