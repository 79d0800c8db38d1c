"""`python -m autograd_core doctor` (and `autograd-viz --doctor`): what this machine has for the
library, one line each, with the fix where something is missing.

The core needs Python 3.10+ and NumPy; pictures need Graphviz's `dot` program (a system package,
which `pip install` cannot bring: the most common reason a first picture fails); the notebook
widget needs anywidget; the extras bring plots, data sets, the lessons and the export formats
(safetensors, ONNX). The exit status is 1 when something the core or the pictures need is
missing, else 0.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import NamedTuple, TextIO

INSTALL_GRAPHVIZ = (
    "install Graphviz, which gives the dot program: Debian/Ubuntu `sudo apt-get install "
    "graphviz`, macOS `brew install graphviz`, Windows `winget install graphviz` (then open a new "
    "terminal), conda `conda install -c conda-forge graphviz`"
)
NO_DOT = (
    "Graphviz's dot program was not found, and every picture is laid out by it: "
    f"{INSTALL_GRAPHVIZ}; `python -m autograd_core doctor` says what else this machine has"
)


class Check(NamedTuple):
    """One line of the report: what was looked for, what was found, and the fix if missing."""

    name: str
    found: str | None  # None: missing
    fix: str
    needed: bool  # whether a missing one makes the exit status 1


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _module(name: str, distribution: str) -> str | None:
    """The installed version of a module, or None when it cannot be imported."""
    if importlib.util.find_spec(name) is None:
        return None
    return _version(distribution) or "installed"


def dot_version() -> str | None:
    """`dot -V`'s version line, or None when there is no dot on the PATH (or it does not run)."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-V"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = (done.stderr or done.stdout).strip().splitlines()
    return f"{line[0]} ({program})" if done.returncode == 0 and line else None


def checks() -> list[Check]:
    """Everything the report looks at, in the order it prints it."""
    python = ".".join(map(str, sys.version_info[:3]))
    extra = "pip install 'autograd-core[{}]'".format
    return [
        Check(
            "python", python if sys.version_info >= (3, 10) else None, "Python 3.10 or newer", True
        ),
        Check("numpy", _module("numpy", "numpy"), "pip install numpy", True),
        Check(
            "graphviz (python package)",
            _module("graphviz", "graphviz"),
            "pip install graphviz",
            True,
        ),
        Check("dot (Graphviz's program, for every picture)", dot_version(), INSTALL_GRAPHVIZ, True),
        Check(
            "anywidget (the step-through widget: JupyterLab, Notebook 7, VS Code, Colab, marimo)",
            _module("anywidget", "anywidget"),
            extra("notebooks"),
            False,
        ),
        Check(
            "ipykernel (the lessons' kernel)",
            _module("ipykernel", "ipykernel"),
            extra("notebooks"),
            False,
        ),
        Check(
            "matplotlib (visualize.plots)",
            _module("matplotlib", "matplotlib"),
            extra("plots"),
            False,
        ),
        Check(
            "scikit-learn (nn.data.load_digits)",
            _module("sklearn", "scikit-learn"),
            extra("data"),
            False,
        ),
        Check(
            "safetensors (model.save('m.safetensors'), weights PyTorch loads)",
            _module("safetensors", "safetensors"),
            extra("export"),
            False,
        ),
        Check("onnx (model.to_onnx)", _module("onnx", "onnx"), extra("export"), False),
        Check(
            "onnxruntime (runs an exported model)",
            _module("onnxruntime", "onnxruntime"),
            extra("export"),
            False,
        ),
    ]


def report(out: TextIO | None = None, found: Callable[[], list[Check]] = checks) -> int:
    """Print one line per check (`ok`, or `missing` and the fix); 1 if something needed is
    missing, else 0."""
    out = out or sys.stdout
    status = 0
    for check in found():
        if check.found is not None:
            print(f"ok       {check.name}: {check.found}", file=out)
        else:
            print(f"missing  {check.name}: {check.fix}", file=out)
            status = status or int(check.needed)
    return status
