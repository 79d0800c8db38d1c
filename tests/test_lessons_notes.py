"""Lessons 04, 05 and 09 read against their own output (issue 23): each number the prose quotes
is the number the executed lesson prints or draws, no printed zero shows as `-0.`, and note
004's three decision boundaries are one picture, side by side.

Each lesson is executed once for the session (the `executed` fixture of conftest.py)."""

from __future__ import annotations

import base64
import html
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Per lesson: (what a markdown cell says, what some output of the executed lesson shows).
QUOTED = {
    "04_softmax_cross_entropy.ipynb": [
        ("always $H(p) = 1.0297$ apart", "H(p) = 1.0297"),  # the KL descent
        ("they receive 0.659, 0.2424 and 0.09857", "grad 0.659"),  # the shift constants
        ("they receive 0.659, 0.2424 and 0.09857", "grad 0.2424"),
        ("($-0.341$, $0.2424$, $0.09857$)", "local -0.341"),  # the fused node's edges
    ],
    "05_softmax_regression.ipynb": [
        ("is the printed 11.55", "|W| at the start: 11.55"),
        ("near\n7.5, 4.2 and 1.5 after 400 steps", "|W| = 7.50"),
        ("near\n7.5, 4.2 and 1.5 after 400 steps", "|W| = 4.24"),
        ("near\n7.5, 4.2 and 1.5 after 400 steps", "|W| = 1.49"),
        ("The cell at row 2, column 3 is\nnote 000's $-0.119$", "dL/dW23 = -0.119000"),
    ],
    "09_vector_backprop.ipynb": [
        ("and `x`'s, $[4, 0, 5, 0]$", "grad [4 0 5 0]"),
        ("has 48 of 144 non-zero", "x @ w: 48 of 144"),
        ("-0.4359 = \\delta_1^{(l+1)}$", "delta(l+1) = -0.4359"),
        ("(the 0.8717 is the square's", "0.5 * 1 * 0.8717 * 1 * -1 * 1 * 1 * 0.2689 = -0.1172"),
        ("$1 \\cdot 1 \\cdot 0.2689$", "dL/dw21 = -0.1172 = delta1 * y2 = -0.4359 * 0.2689"),
    ],
}
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0\.?0*(?![\d.e])")  # -0, -0., -0.0000; not -0.41


def _outputs(notebook: Any) -> list[dict[str, Any]]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def _printed(notebook: Any) -> str:
    """What a student reads as text: the printed streams and the plain-text results."""
    texts = []
    for output in _outputs(notebook):
        if output["output_type"] == "stream":
            texts.append("".join(output["text"]))
        elif output["output_type"] == "execute_result" and set(output["data"]) == {"text/plain"}:
            texts.append("".join(output["data"]["text/plain"]))
    return "\n".join(texts)


def _shown(notebook: Any) -> str:
    """Everything the outputs show in words: the text, and the text drawn in the pictures."""
    drawn = [
        "".join(output["data"]["image/svg+xml"])
        for output in _outputs(notebook)
        if "image/svg+xml" in output.get("data", {})
    ]
    return "\n".join([_printed(notebook), *map(html.unescape, drawn)])  # dot writes - as &#45;


def test_the_negative_zero_pattern() -> None:
    for shown in ("[-0.  1.]", "-0.0000 + 1", "x = -0", "H(p) -0.0000 + KL"):
        assert NEGATIVE_ZERO.search(shown), shown
    for fine in ("-0.4359", "[-0.0986]", "1e-0.5", "x-0.3", "-0.0e+00", "2.0e-09"):
        assert not NEGATIVE_ZERO.search(fine), fine


@pytest.mark.parametrize("name", sorted(QUOTED))
def test_the_prose_quotes_what_the_lesson_shows(executed: Callable[[str], Any], name: str) -> None:
    notebook = executed(name)
    prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    shown = _shown(notebook)
    for says, output in QUOTED[name]:
        assert says in prose, f"the prose no longer says {says!r}"
        assert output in shown, f"the prose says {says!r}, but no output shows {output!r}"


@pytest.mark.parametrize("name", sorted(QUOTED))
def test_no_zero_prints_as_negative(executed: Callable[[str], Any], name: str) -> None:
    for line in _printed(executed(name)).splitlines():
        assert not NEGATIVE_ZERO.search(line), f"a zero printed with its sign: {line!r}"


def test_the_lambda_sweep_is_three_boundaries_side_by_side(executed: Callable[[str], Any]) -> None:
    notebook = executed("05_softmax_regression.ipynb")
    cells = [cell for cell in notebook.cells if "plot_decision_boundary(model" in cell.source]
    assert len(cells) == 1
    pngs = [out["data"]["image/png"] for out in cells[0].outputs if "image/png" in out["data"]]
    assert len(pngs) == 1, "the three boundaries are one picture"
    width, height = struct.unpack(">II", base64.b64decode(pngs[0])[16:24])
    assert width > 2.5 * height, f"a {width} x {height} picture is not three plots in a row"
    printed = _printed(notebook)
    norms = [float(n) for n in re.findall(r"lambda = [\d.]+ +\|W\| = ([\d.]+)", printed)]
    assert len(norms) == 3 and norms[0] > norms[1] > norms[2]
