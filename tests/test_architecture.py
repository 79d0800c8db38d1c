"""The layout the design fixes, where a syntax tree can see it: code that serves both paths asks
the node types (their methods), never which path a node is on; no module reaches into another's
private names; no import hides in a function to dodge a circle. (Which module may import which is
import-linter's, in pyproject.toml, run by `make lint`.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd_core", "nn", "visualize", "course")
NODE_TYPES = {"autograd_core/engine.py", "autograd_core/tensor.py"}
NODE_NAMES = {"Value", "Tensor"}
PATH_FLAGS = {"HOLDS_ARRAYS", "is_array"}  # the old ways of asking a node which path it is on


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def path_switches(tree: ast.AST) -> list[str]:
    """Every place in `tree` that asks which path a node is on: isinstance/issubclass of a node
    type, `type(x) is Value`, or a read of a path flag."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and len(node.args) == 2
            and names_in(node.args[1]) & NODE_NAMES
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) for op in node.ops
        ):
            sides = [node.left, *node.comparators]
            typed = any(
                isinstance(s, ast.Call) and isinstance(s.func, ast.Name) and s.func.id == "type"
                for s in sides
            )
            if typed and any(names_in(s) & NODE_NAMES for s in sides):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, (ast.Name, ast.Attribute)) and (
            getattr(node, "id", None) in PATH_FLAGS or getattr(node, "attr", None) in PATH_FLAGS
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Constant) and node.value in PATH_FLAGS:  # getattr(x, "...")
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_path_switch_outside_the_node_types(path: Path) -> None:
    if str(path.relative_to(ROOT)) in NODE_TYPES or path.parts[-2] == "course":
        return  # (the lessons' checker asks whether a student's answer is a Value at all)
    found = path_switches(ast.parse(path.read_text()))
    assert not found, f"{path.name} asks which path a node is on: {found}"


def test_the_switch_finder_finds_each_kind_of_switch() -> None:
    """A check that cannot fail checks nothing: each kind of switch is found, and asking the
    node (a method, a value's kind) is not."""
    switches = [
        "isinstance(x, Tensor)",
        "isinstance(x, (Value, int))",
        "type(x) is Value",
        "type(x) is not Tensor",
        "x.HOLDS_ARRAYS",
        "getattr(x, 'HOLDS_ARRAYS', False)",
        "is_array(x)",
    ]
    for source in switches:
        assert path_switches(ast.parse(source)), source
    for source in ("x.shares(g)", "isinstance(x.data, np.ndarray)", "type(x) is float"):
        assert not path_switches(ast.parse(source)), source


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name}:{node.lineno} imports {private} from {node.module}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module_like = node.value.id in {"engine", "tensor", "graph", "ops", "functional"}
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            assert not (module_like and private), (
                f"{path.name}:{node.lineno} reads {node.value.id}.{node.attr}"
            )


def imports_in_functions(tree: ast.AST) -> list[str]:
    """Imports inside a function that are not of an optional dependency (an import in a `try`
    whose handler catches ImportError, which says which extra installs it)."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        optional = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Try) and any(
                "ImportError" in names_in(h.type) for h in node.handlers if h.type is not None
            ):
                optional.update(id(n) for b in node.body for n in ast.walk(b))
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in optional:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_hides_in_a_function(path: Path) -> None:
    found = imports_in_functions(ast.parse(path.read_text()))
    assert not found, f"{path.name} imports inside a function: {found}"


def test_the_import_finder_finds_a_hidden_import_and_passes_an_optional_one() -> None:
    hidden = "def f():\n    from . import tensor\n    return tensor\n"
    optional = (
        "def f():\n    try:\n        import ipywidgets\n    except ImportError:\n        raise\n"
    )
    assert imports_in_functions(ast.parse(hidden))
    assert not imports_in_functions(ast.parse(optional))
