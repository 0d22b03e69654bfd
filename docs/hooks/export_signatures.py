"""Each task's export signatures, read from the pipelines' source without running it.

The serving functions are ``tf.function``s with an ``input_signature`` of ``tf.TensorSpec``s,
built inside a builder function (``serving_functions``) that returns ``{"signature name": fn}``.
Reading that source (``ast``) gives each signature's inputs (name, dtype, shape) and the keys
of the dict it returns, without importing TensorFlow or training a model, so the docs build stays
fast and the page follows the code. tests/docs/test_reference.py checks the result against a
real export's signatures.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class TensorInput:
    name: str
    dtype: str
    shape: str


@dataclasses.dataclass
class Signature:
    name: str
    function: str
    inputs: list[TensorInput]
    outputs: list[tuple[str, str]]  # (key of the returned dict, condition: '' = always)
    condition: str = ""         # the source of the ``if`` it is offered under, if any


@dataclasses.dataclass
class Builder:
    """A function that builds serving functions: its docstring and its signatures."""

    module: str
    name: str
    doc: str
    signatures: list[Signature]


def _parse(module: str) -> ast.Module:
    path = ROOT / (module.replace(".", "/") + ".py")
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_tensor_spec(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func).endswith("TensorSpec")


def _tensor_input(call: ast.Call) -> TensorInput:
    shape = ast.unparse(call.args[0]) if call.args else "?"
    dtype = ast.unparse(call.args[1]) if len(call.args) > 1 else "?"
    name = ""
    for keyword in call.keywords:
        if keyword.arg == "name":
            name = ast.literal_eval(keyword.value)
        elif keyword.arg == "dtype":
            dtype = ast.unparse(keyword.value)
        elif keyword.arg == "shape":
            shape = ast.unparse(keyword.value)
    return TensorInput(name, dtype.removeprefix("tf."), shape.replace("None", "-1"))


def _imported_specs(tree: ast.Module) -> dict[str, ast.Call]:
    """Module-level ``NAME = tf.TensorSpec(...)``, and those imported from other pipelines."""
    specs = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_tensor_spec(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    specs[target.id] = node.value
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipelines."):
            theirs = _imported_specs(_parse(node.module))
            specs.update({alias.asname or alias.name: theirs[alias.name]
                          for alias in node.names if alias.name in theirs})
    return specs


def _tf_function_signature(node: ast.FunctionDef) -> ast.AST | None:
    """The ``input_signature`` expression of a ``@tf.function(...)`` def, or None."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("function"):
            for keyword in decorator.keywords:
                if keyword.arg == "input_signature":
                    return keyword.value
    return None


class _Keys:
    """The keys of the dicts a serving function returns, following the builder's helper
    functions (``public(out, maps)``), dict unpacking and ``a if test else b``. A key that only
    one branch of an undecided test gives carries that test as its condition."""

    def __init__(self, builder: ast.FunctionDef):
        self.helpers = {n.name: n for n in ast.walk(builder)
                        if isinstance(n, ast.FunctionDef) and n is not builder}
        # The builder's own names (``with_maps = config.export_attention and ...``): their source.
        self.sources = {n.targets[0].id: ast.unparse(n.value) for n in builder.body
                        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}

    def of_function(self, function: ast.FunctionDef, env: dict) -> list[tuple[str, str]]:
        assigned = {n.targets[0].id: n.value for n in ast.walk(function)
                    if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
        keys: list[tuple[str, str]] = []
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                keys = _merge(keys, self.of(node.value, env, assigned))
        return keys

    def of(self, node: ast.AST, env: dict, assigned: dict) -> list[tuple[str, str]]:
        if isinstance(node, ast.Dict):
            keys: list[tuple[str, str]] = []
            for key, value in zip(node.keys, node.values):
                more = [(key.value, "")] if isinstance(key, ast.Constant) else \
                    self.of(value, env, assigned) if key is None else []
                keys = _merge(keys, more)
            return keys
        if isinstance(node, ast.DictComp) and node.generators \
                and isinstance(node.generators[0].iter, ast.Tuple):
            return [(e.value, "") for e in node.generators[0].iter.elts
                    if isinstance(e, ast.Constant)]
        if isinstance(node, ast.Name) and node.id in assigned:
            return self.of(assigned[node.id], env, assigned)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in self.helpers:
            helper = self.helpers[node.func.id]
            bound = {}
            for param, arg in zip(helper.args.args, node.args):
                bound[param.arg] = arg.value if isinstance(arg, ast.Constant) else \
                    env.get(arg.id, self.sources.get(arg.id, arg.id)) \
                    if isinstance(arg, ast.Name) else ast.unparse(arg)
            return self.of_function(helper, bound)
        if isinstance(node, ast.IfExp):
            test = env.get(node.test.id, node.test.id) if isinstance(node.test, ast.Name) \
                else ast.unparse(node.test)
            if isinstance(test, bool):
                return self.of(node.body if test else node.orelse, env, assigned)
            body, orelse = self.of(node.body, env, assigned), self.of(node.orelse, env, assigned)
            both = {key for key, _ in orelse}
            return _merge(orelse, [(key, "" if key in both else test) for key, _ in body])
        return []


def _merge(keys: list[tuple[str, str]], more: list[tuple[str, str]]) -> list[tuple[str, str]]:
    known = {key for key, _ in keys}
    return keys + [(key, condition) for key, condition in more if key not in known]


def _inputs(expression: ast.AST, specs: dict, functions: dict) -> list[TensorInput]:
    if isinstance(expression, ast.Attribute) and expression.attr == "input_signature":
        return functions[ast.unparse(expression.value)][0]
    result = []
    for element in getattr(expression, "elts", []):
        spec = specs.get(element.id) if isinstance(element, ast.Name) else element
        result.append(_tensor_input(spec) if spec is not None and _is_tensor_spec(spec)
                      else TensorInput(ast.unparse(element), "?", "?"))
    return result


def _offered(builder: ast.FunctionDef) -> list[tuple[str, str, str]]:
    """(signature name, function name, condition) for each ``{"name": fn}`` the builder returns
    or assigns, in source order; ``functions["x"] = fn`` under an ``if`` carries its test."""
    offered: list[tuple[str, str, str]] = []

    def visit(statements, condition: str) -> None:
        for statement in statements:
            if isinstance(statement, ast.If):
                visit(statement.body, ast.unparse(statement.test))
                continue
            value = getattr(statement, "value", None)
            if isinstance(value, ast.Dict):
                offered.extend((key.value, val.id, condition)
                               for key, val in zip(value.keys, value.values)
                               if isinstance(key, ast.Constant) and isinstance(val, ast.Name))
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0],
                                                                 ast.Subscript) \
                    and isinstance(statement.value, ast.Name):
                key = statement.targets[0].slice
                if isinstance(key, ast.Constant):
                    offered.append((key.value, statement.value.id, condition))

    visit(builder.body, "")
    return offered


def builders(module: str) -> list[Builder]:
    """The serving-function builders defined in ``module`` (e.g. ``pipelines.sentiment``)."""
    tree = _parse(module)
    specs = _imported_specs(tree)
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        nested = [n for n in ast.walk(node) if isinstance(n, ast.FunctionDef) and n is not node]
        local_specs = dict(specs)
        for child in ast.walk(node):
            if isinstance(child, ast.Assign) and _is_tensor_spec(child.value) \
                    and isinstance(child.targets[0], ast.Name):
                local_specs[child.targets[0].id] = child.value
        functions = {}
        keys = _Keys(node)
        for function in nested:
            expression = _tf_function_signature(function)
            if expression is not None:
                functions[function.name] = (_inputs(expression, local_specs, functions),
                                            keys.of_function(function, {}))
        if not functions:
            continue
        signatures = [Signature(name, fn, *functions[fn], condition)
                      for name, fn, condition in _offered(node) if fn in functions]
        found.append(Builder(module, node.name, inspect.cleandoc(ast.get_docstring(node) or ""),
                             signatures))
    return found


def _task_class(tree: ast.Module, task_name: str) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and ast.unparse(statement.targets[0]) \
                        == "name" and isinstance(statement.value, ast.Constant) \
                        and statement.value.value == task_name:
                    return node
    return None


def task_builders(task_name: str, module: str) -> list[Builder]:
    """The builders a task's ``signatures`` method calls, its base class's first when it calls
    ``super().signatures`` (the autoencoder adds ``embed`` to translation's)."""
    tree = _parse(module)
    task_class = _task_class(tree, task_name)
    if task_class is None:
        return builders(module)
    method = next((n for n in task_class.body if isinstance(n, ast.FunctionDef)
                   and n.name == "signatures"), None)
    if method is None:
        return []
    called = {ast.unparse(n.func) for n in ast.walk(method) if isinstance(n, ast.Call)}
    found = task_builders(*_base_task(tree, task_class)) \
        if "super().signatures" in called else []
    return found + [b for b in builders(module) if b.name in called]


def task_signatures(task_name: str, module: str) -> list[Signature]:
    """The signatures an export of the task has: later builders' names replace earlier ones
    (``{**super().signatures(...), **embedding_functions(...)}``)."""
    merged: dict[str, Signature] = {}
    for builder in task_builders(task_name, module):
        merged.update({signature.name: signature for signature in builder.signatures})
    return list(merged.values())


def _base_task(tree: ast.Module, task_class: ast.ClassDef) -> tuple[str, str]:
    """(task name, module) of the pipeline class ``task_class`` derives from first."""
    base = ast.unparse(task_class.bases[0])
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == base for a in node.names):
            for candidate in _parse(node.module).body:
                if isinstance(candidate, ast.ClassDef) and candidate.name == base:
                    name = next(s.value.value for s in candidate.body
                                if isinstance(s, ast.Assign)
                                and ast.unparse(s.targets[0]) == "name")
                    return name, node.module
    raise LookupError(f"{task_class.name}: base class {base} is not a pipeline's task class")


def asset_names(task_name: str, module: str) -> list[str]:
    """The file names a task puts in ``assets/`` (the ``.txt`` names in ``export_assets``,
    module constants resolved), its base class's when it has no method of its own."""
    tree = _parse(module)
    constants = {node.targets[0].id: node.value.value for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                 and isinstance(node.value, ast.Constant)}
    task_class = _task_class(tree, task_name)
    method = next((n for n in (task_class.body if task_class else [])
                   if isinstance(n, ast.FunctionDef) and n.name == "export_assets"), None)
    if method is None:
        return asset_names(*_base_task(tree, task_class)) if task_class else []
    names = []
    for node in ast.walk(method):
        value = node.value if isinstance(node, ast.Constant) else \
            constants.get(node.id) if isinstance(node, ast.Name) else None
        if isinstance(value, str) and value.endswith(".txt") and value not in names:
            names.append(value)
    return names
