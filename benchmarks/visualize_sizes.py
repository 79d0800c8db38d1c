"""How big and how slow the pictures are: the step-through page, the trace, the collapsed MLP.

1. The backward step-through of one sample through `nn.MLP(2, [16, 16, 1])`: seconds to trace
   and to build the page, and the page's size (the design allows 3 MB and 5 s); and, in Debian's
   chromium when it and Playwright are there, the first render of the step-through (the ES module
   that the page, the docs and the notebook widget all run) and the page's load.
2. `trace_backward` on chains of 10^3, 10^4 and 10^5 nodes: seconds and bytes per node
   (tracemalloc, peak during the trace), which stay flat when the trace is linear.
3. `draw_graph` of a whole scalar MLP forward of a batch (100 moons points through
   `nn.MLP(2, [16, 16, 1])`, micrograd's loss): collapsed by module; seconds and SVG size.

Each figure is the median of --repeats runs.

    python benchmarks/visualize_sizes.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from autograd_core import Value
from nn.data import make_moons
from visualize import draw_graph, trace_backward


def median_time(work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def mlp_page(repeats: int) -> None:
    model = nn.MLP(2, [16, 16, 1])

    def trace() -> Any:
        out = model([0.5, -1.2])
        out.label = "out"
        return trace_backward(out, parameters=model)

    trace_seconds, traced = median_time(trace, repeats)
    page_seconds, page = median_time(traced.html, repeats)
    render_ms, loaded_ms = first_render(page, repeats)
    print("1. Step-through of one sample through nn.MLP(2, [16, 16, 1])")
    print("| values | steps | trace s | page s | page MB | first render ms | page loaded ms |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {len(traced.picture)} | {len(traced)} | {trace_seconds:.3f} | {page_seconds:.2f} | "
        f"{len(page.encode()) / 2**20:.2f} | {render_ms} | {loaded_ms} |"
    )


def first_render(page: str, repeats: int) -> tuple[str, str]:
    """Median milliseconds of the step-through's first render (the module's own count, from
    mounting to the first step shown) and of the page's load (to its load event), in headless
    chromium; "-" where there is no chromium or Playwright."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "-", "-"
    if not chromium.exists():
        return "-", "-"
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        path = Path(folder) / "mlp.html"
        path.write_text(page, encoding="utf-8")
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        renders, loads = [], []
        for _ in range(repeats + 1):  # the first warms the browser's caches up
            view = browser.new_page(viewport={"width": 1200, "height": 900})
            view.goto(path.as_uri(), wait_until="load")
            view.wait_for_selector("[data-agc-stepthrough][data-render-ms]")
            renders.append(float(view.get_attribute("[data-agc-stepthrough]", "data-render-ms")))
            loads.append(
                view.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
            view.close()
        browser.close()
    return f"{statistics.median(renders[1:]):.0f}", f"{statistics.median(loads[1:]):.0f}"


def chain(n: int) -> Value:
    x = Value(0.5, "x")
    out = x
    for _ in range(n // 2):
        out = (out * 1.0001).tanh()
    return out


def trace_scaling(repeats: int) -> None:
    print("\n2. trace_backward on a chain of n values")
    print("| values | steps | us per value | bytes per value (peak) |")
    print("|---|---|---|---|")
    for n in (1_000, 10_000, 100_000):
        root = chain(n)
        seconds, traced = median_time(lambda root=root: trace_backward(root), repeats)
        tracemalloc.start()
        trace_backward(root)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {n:,} | {len(traced):,} | {seconds / n * 1e6:.1f} | {peak / n:.0f} |")


def collapsed_mlp(repeats: int) -> None:
    X, y = make_moons(100, noise=0.1, seed=1337)
    model = nn.MLP(2, [16, 16, 1], init="micrograd")
    loss = nn.binary_hinge(model(X), y * 2 - 1) + nn.l2(model.parameters(), 1e-4)
    loss.label = "loss"
    loss.backward()

    def draw() -> str:
        return draw_graph(loss, parameters=model).pipe(format="svg").decode()

    seconds, svg = median_time(draw, repeats)
    boxes = svg.count('class="node box"')
    print("\n3. draw_graph of a whole batch: 100 moons points through nn.MLP(2, [16, 16, 1])")
    print("| values | boxes drawn | seconds (layout and SVG) | SVG KB |")
    print("|---|---|---|---|")
    print(f"| {len(list(_order(loss))):,} | {boxes} | {seconds:.2f} | {len(svg) / 1024:.0f} |")


def _order(root: Any) -> list[Any]:
    from autograd_core import topological_order

    return topological_order(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, medians of {args.repeats}\n")
    mlp_page(args.repeats)
    trace_scaling(args.repeats)
    collapsed_mlp(args.repeats)


if __name__ == "__main__":
    main()
