"""The layout the design fixes: no path switching outside the node types, no private reaches."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd_core", "nn", "visualize")
NODE_TYPES = {"autograd_core/engine.py", "autograd_core/tensor.py"}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_isinstance_switch_between_the_paths_outside_the_node_types(path: Path) -> None:
    if str(path.relative_to(ROOT)) in NODE_TYPES:
        return
    tree = ast.parse(path.read_text())
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in ("isinstance", "issubclass")
            and len(call.args) == 2
        ):
            switched = names_in(call.args[1]) & {"Value", "Tensor"}
            assert not switched, f"{path.name}:{call.lineno} switches on {switched}"


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
