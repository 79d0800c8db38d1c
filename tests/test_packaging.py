"""Packaging: what `pip install autograd-core` brings and ships.

The sdist and the wheel are built from this tree (`python -m build`, as a release would be), and
the wheel is installed into a fresh virtual environment with its dependencies resolved by pip:
the core must come with NumPy, graphviz and tqdm only, train a model, draw a graph, and answer
an import of a missing extra with an ImportError that names the extra. The environment is new on
every run (about ten seconds with pip's cache; on a fresh machine pip downloads NumPy once).
"""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, which the project supports: the same parser, from PyPI
    import tomli as tomllib

import autograd_core

ROOT = Path(__file__).resolve().parent.parent
CORE = {"autograd-core", "numpy", "graphviz", "tqdm"}
EXTRAS = {
    "plots": {"matplotlib"},
    "data": {"scikit-learn"},
    "notebooks": {"anywidget", "ipykernel", "matplotlib", "scikit-learn"},
    "export": {"safetensors", "onnx", "onnxruntime"},
}


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel built from it, as `python -m build` makes them."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", autograd_core.__version__)


def test_the_core_depends_on_numpy_graphviz_and_tqdm_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {requirement_name(r) for r in project["dependencies"]} == CORE - {"autograd-core"}
    extras = project["optional-dependencies"]
    for extra, names in EXTRAS.items():
        assert {requirement_name(r) for r in extras[extra]} == names
    # `all` is every user-facing extra; docs, dev and bench are for working on the project
    assert {requirement_name(r) for r in extras["all"]} == set().union(*EXTRAS.values())
    assert {"mkdocs", "mkdocs-material", "mkdocstrings", "mkdocs-jupyter"} <= {
        requirement_name(r) for r in extras["docs"]
    }


def test_the_makefile_installs_every_extra() -> None:
    """`make demo` and `make test` (and `make docs`) need the plots, notebooks, data and docs."""
    makefile = (ROOT / "Makefile").read_text()
    (extras,) = re.findall(r"^EXTRAS\s*:=\s*(\S+)$", makefile, re.MULTILINE)
    assert {"all", "dev", "docs"} <= set(extras.split(","))
    assert "-e '.[$(EXTRAS)]'" in makefile
    # a changed dependency list re-installs (the stamp is older than pyproject.toml)
    assert re.search(r"^\$\(STAMP\): pyproject\.toml", makefile, re.MULTILINE)


def test_the_wheel_carries_the_license_and_the_metadata(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as archive:
        names = archive.namelist()
        (license_name,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        license_text = archive.read(license_name).decode()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        packages = set(archive.read(top_level).decode().split())
    assert license_text == (ROOT / "LICENSE").read_text()
    # the step-through's one ES module, which every view of it runs; the PEP 561 markers
    with zipfile.ZipFile(built["wheel"]) as archive:
        module = archive.read("visualize/static/stepthrough.js").decode()
        names = set(archive.namelist())
    assert {f"{package}/py.typed" for package in ("autograd_core", "nn", "visualize")} <= names
    assert module == (ROOT / "visualize" / "static" / "stepthrough.js").read_text()
    assert license_text.startswith("MIT License\n\nCopyright (c) 2026 the autograd-core authors\n")
    assert {"autograd_core", "nn", "visualize"} <= packages
    metadata = wheel_metadata(built["wheel"])
    assert metadata["Version"] == autograd_core.__version__
    assert metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier")
    assert "Intended Audience :: Education" in classifiers
    assert "Programming Language :: Python :: 3" in classifiers
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert {"Documentation", "Source", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    requires = metadata.get_all("Requires-Dist")
    assert {requirement_name(r) for r in requires if "extra ==" not in r} == CORE - {
        "autograd-core"
    }
    assert set(EXTRAS) | {"all", "docs"} <= set(metadata.get_all("Provides-Extra"))


def test_the_sdist_carries_the_lessons_the_docs_and_the_tests(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = [
        "LICENSE",
        "README.md",
        "Makefile",
        "mkdocs.yml",
        *(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb")),
        *(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
        "docs/chain_rule.svg",  # the README's pictures
        "tests/test_packaging.py",
        "scripts/system-deps.sh",
    ]
    assert len(list((ROOT / "notebooks").glob("*.ipynb"))) >= 5
    assert [name for name in wanted if name not in names] == []
    assert not any(name.startswith(("site/", "out/", ".venv")) for name in names)


CORE_SCRIPT = r"""
import importlib.metadata, json, sys
import autograd_core, nn, visualize
from autograd_core import Value
from nn.data import make_moons

report = {
    "version": autograd_core.__version__,
    "installed": importlib.metadata.version("autograd-core"),
    "files": [m.__file__ for m in (autograd_core, nn, visualize)],
}

# the README's example: micrograd's moons MLP trained with fit
X, y = make_moons(100, noise=0.1, seed=1337)
model = nn.MLP(2, [16, 16, 1], init="micrograd")
params = model.parameters()
history = nn.fit(
    model, X, y * 2 - 1,
    loss=lambda out, t: nn.binary_hinge(out, t) + nn.l2(params, 1e-4),
    optimizer=nn.SGD(params, lr=lambda step: 1.0 - 0.9 * step / 100),
    epochs=100,
)
report["accuracy"] = history["accuracy"][-1]
report["loss"] = [history["loss"][0], history["loss"][-1]]

x, w = Value(2.0, "x"), Value(-3.0, "w")
f = (x * w).tanh()
f.backward()
report["svg"] = visualize.draw_graph(f).pipe(format="svg").decode()

def missing(action):
    try:
        action()
    except ImportError as error:
        return str(error)
    return None

def plots():
    import visualize.plots

report["plots"] = missing(plots)
report["data"] = missing(nn.data.load_digits)
report["widget"] = missing(lambda: visualize.trace_backward(f).widget())
json.dump(report, sys.stdout)
"""


def test_a_core_install_trains_draws_and_names_missing_extras(
    built: dict[str, Path], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(built["wheel"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)} - {"pip", "setuptools"}
    assert installed == CORE

    # run outside the source tree, so every import comes from the installed wheel
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [str(python), "-c", CORE_SCRIPT],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["version"] == report["installed"] == autograd_core.__version__
    assert all(path.startswith(str(venv)) for path in report["files"]), report["files"]
    assert report["accuracy"] == 1.0
    assert report["loss"][-1] < report["loss"][0] / 10
    assert "<svg" in report["svg"] and "tanh" in report["svg"]
    assert report["plots"] == (
        "visualize.plots needs matplotlib: pip install 'autograd-core[plots]'"
    )
    assert report["data"] == "load_digits needs scikit-learn: pip install 'autograd-core[data]'"
    assert report["widget"] == (
        "the step-through widget needs anywidget: pip install 'autograd-core[notebooks]'"
    )
    assert done.stderr == ""  # no progress bar (not a terminal), no warnings

    # the CLI, installed as a console script, in the core install
    cli = subprocess.run(
        [str(venv / "bin" / "autograd-viz"), "-x*y", "x=3", "y=2", "-o", "g.svg"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines() == ["f = -6", "df/dx = -2", "df/dy = -3", "wrote g.svg"]
    assert (work / "g.svg").read_text().lstrip().startswith("<?xml")

    # how large the core is on disk (the README quotes it)
    size = 0
    for name in CORE:
        for file in importlib_files(python, name, env):
            size += Path(file).stat().st_size
    print(f"core install: {size / 1e6:.0f} MB for {sorted(CORE)}")
    assert size < 150e6  # NumPy is most of it; the full install with every extra is ~500 MB


def importlib_files(python: Path, distribution: str, env: dict[str, str]) -> list[str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "d = m.distribution(sys.argv[1])\n"
        "print(json.dumps([str(d.locate_file(f)) for f in d.files or []]))\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, distribution],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return [f for f in json.loads(done.stdout) if Path(f).is_file()]


def test_the_demo_shows_no_progress_bar_when_redirected(tmp_path: Path) -> None:
    """`make demo > log`: a log without carriage returns (the bar is for a terminal only)."""
    stdout, stderr = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            stdout=out,
            stderr=err,
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, stderr.read_text()[-3000:]
    log = stdout.read_bytes() + stderr.read_bytes()
    assert b"\r" not in log
    assert b"final accuracy 100%" in log
    assert (tmp_path / "out" / "moons_history.png").read_bytes().startswith(b"\x89PNG")
