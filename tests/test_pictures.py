"""The README's pictures: `scripts/pictures.py` (which the demo runs too) writes them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_pictures():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("pictures", ROOT / "scripts" / "pictures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_the_readme_pictures_are_written(tmp_path: Path) -> None:
    written = load_pictures().write_pictures(tmp_path)
    names = sorted(path.name for path in written)
    assert names == [
        "backward_graph.png",
        "mlp_collapsed.html",
        "mlp_collapsed.png",
        "neuron_step.png",
        "neuron_steps.html",
        "paths_x.png",
    ]
    step = (tmp_path / "neuron_step.png").read_bytes()
    collapsed = (tmp_path / "mlp_collapsed.png").read_bytes()
    assert min(png_size(step)) > 300 and len(step) > 20_000
    width, height = png_size(collapsed)  # laid out to fit a column: top to bottom, 530 x 832
    assert width > 400 and height > 150 and width * height > 1000 * 150
    assert min(png_size((tmp_path / "backward_graph.png").read_bytes())) > 100
    page = (tmp_path / "neuron_steps.html").read_text()
    assert page.count("\\u003csvg") == 1 and "Step 3 of 3: n1 = w0*x0 + w1*x1 + b" in page
    overview = (tmp_path / "mlp_collapsed.html").read_text()
    top = overview[overview.find('id="detail-top"') :]
    top = top[: top.find("</section>")]
    titles = set(
        re.findall(r'<g id="b\d+" class="node box">.*?<text[^>]*>([^<]*)</text>', top, re.S)
    )
    assert {"L0 · Layer", "L1 · Layer", "L2 · Layer", "loss"} <= titles
    assert len(titles) <= 24  # 7,744 values as a dozen boxes
