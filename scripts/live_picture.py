"""The live training view's picture for the README, made as a student makes it.

    .venv/bin/python scripts/live_picture.py [FOLDER]      # default: docs

writes, into FOLDER:
- live_run.html: micrograd's demo (MLP(2, [16, 16, 1]) on 100 moons, SVM loss with L2, SGD at
  0.05) trained 40 steps in `visualize.training_view.Live`, point 77 traced, saved as the page
  that replays the run with no kernel (`Live.save`);
- live_view.png: that page at its last frame, as headless Chromium shows it at 1,300 px (when
  /usr/bin/chromium is installed, as `make test` installs it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from nn.data import make_moons
from visualize.training_view import Live

CHROMIUM = Path("/usr/bin/chromium")


def demo_run() -> Live:
    X, y = make_moons(100, noise=0.1)
    model = nn.MLP(2, [16, 16, 1])

    def loss(outputs: Any, targets: Any) -> Any:
        return nn.binary_hinge(outputs, targets) + nn.l2(model.parameters(), 1e-4)

    run = Live(model, X, y * 2 - 1, loss, nn.SGD(model.parameters(), lr=0.05))
    run.step(40)
    run.trace(77)
    return run


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")
    run = demo_run()
    page = run.save(folder / "live_run.html", title="Watch it learn: micrograd's demo")
    print(f"wrote {page}")
    if not CHROMIUM.exists():
        print(f"no {CHROMIUM}: live_view.png not made")
        return
    picture = (folder / "live_view.png").resolve()
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={picture}", "--window-size=1300,980",
         f"{page.resolve().as_uri()}#frame={len(run.history)}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    print(f"wrote {picture}")


if __name__ == "__main__":
    main()
