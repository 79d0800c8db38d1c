"""The pictures the README shows, made as a student makes them; the demo writes them too.

    .venv/bin/python scripts/pictures.py [FOLDER]      # default: docs

writes, into FOLDER:
- neuron_steps.html: the backward step-through of one tanh neuron, w . x + b, with its
  parameters named by `nn` (w0, w1, b);
- neuron_step.png: that page at its last step, as headless Chromium shows it (when Chromium and
  Playwright are installed, as `make test` installs them; otherwise Graphviz's picture of the
  same step);
- backward_graph.png: the graph of a gradient, d(x e^x)/dx made by `grad(..., create_graph=True)`:
  the backward pass's own gates, drawn as any graph is;
- paths_x.png: every path from f = (x + y) z down to x (one), with its product of local
  gradients and their sum, x's gradient;
- mlp_collapsed.png and mlp_collapsed.html: a whole batch, 100 moons points through
  `nn.MLP(2, [16, 16, 1])` with micrograd's loss, drawn collapsed by module (7,744 values as a
  dozen boxes); in the page every box opens.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from autograd_core import Value, grad
from nn.data import make_moons
from visualize import BackwardTrace, collapsed_page, draw_graph, draw_paths, trace_backward

CHROMIUM = Path("/usr/bin/chromium")


def neuron_trace() -> BackwardTrace:
    """One tanh neuron on two named inputs, its backward pass recorded."""
    neuron = nn.Neuron(2, "tanh", weights=[0.5, -1.0], bias=0.25)
    out = neuron([Value(1.5, "x0"), Value(-0.5, "x1")])
    out.label = "out"
    return trace_backward(out, parameters=neuron)


def batch_loss() -> tuple[Value, nn.MLP]:
    """micrograd's demo loss over a whole batch, with its gradients."""
    X, y = make_moons(100, noise=0.1, seed=1337)
    model = nn.MLP(2, [16, 16, 1], init="micrograd")
    loss = nn.binary_hinge(model(X), y * 2 - 1) + nn.l2(model.parameters(), 1e-4)
    loss.label = "loss"
    loss.backward()
    return loss, model


def screenshot(page: Path, png: Path, steps: int) -> bool:
    """The page at step `steps` (its address `#step=K` opens it), in headless Chromium; False if
    there is none."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    if not CHROMIUM.exists():
        return False
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        view = browser.new_page(viewport={"width": 1200, "height": 760})
        view.goto(f"{page.resolve().as_uri()}#step={steps + 1}")
        view.wait_for_selector("[data-agc-stepthrough]")
        view.wait_for_function("document.querySelector('.agc-view').dataset.moving !== '1'")
        view.screenshot(path=str(png), full_page=True)
        browser.close()
    return True


def write_pictures(folder: Path) -> list[Path]:
    """Write the README's pictures into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    trace = neuron_trace()
    page = trace.to_html(folder / "neuron_steps.html", title="Backward pass of one tanh neuron")
    last = len(trace) - 1
    step_png = folder / "neuron_step.png"
    if not screenshot(page, step_png, last):
        step_png.write_bytes(trace.frame(last).pipe(format="png"))
    loss, model = batch_loss()
    collapsed = folder / "mlp_collapsed.png"
    graph = draw_graph(loss, parameters=model)
    graph.attr(dpi="60")
    collapsed.write_bytes(graph.pipe(format="png"))
    html = collapsed_page(
        loss, folder / "mlp_collapsed.html", parameters=model, title="100 moons through an MLP"
    )
    x = Value(0.7, "x")
    (slope,) = grad(x * x.exp(), [x], create_graph=True)
    slope.label = "df/dx"
    backward_png = folder / "backward_graph.png"
    backward_png.write_bytes(draw_graph(slope, show_grad=False).pipe(format="png"))
    paths_png = folder / "paths_x.png"
    paths_png.write_bytes(draw_paths(*chain_rule()).pipe(format="png"))
    return [page, step_png, backward_png, paths_png, collapsed, html]


def chain_rule() -> tuple[Value, Value]:
    """f = (x + y) z at x = -2, y = 5, z = -4, its gradients computed; and x."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()
    return f, x


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")
    for path in write_pictures(target):
        print(f"wrote {path}")
