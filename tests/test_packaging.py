"""What gets installed: one import package, `diagnose`, with its KB as package data.

The wheel is built from a copy of the sources (no build/ or egg-info left in the
checkout) and installed twice, the way users install it: into a clean virtualenv,
and with ``pip install --user`` into a temporary HOME.  Neither installation may
see this checkout: the dependencies are made importable by a ``.pth`` line naming
this virtualenv's site-packages (a directory added that way has its own ``.pth``
files ignored, so the editable install's finder stays off), and each test checks
that ``diagnose`` is imported from the installation under test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import tomllib
import yaml

from tests.helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
EXAMPLE_ENTRY = "peft-target-modules-not-found"


def _package_folders() -> dict[str, Path]:
    """Every package on disk (a folder with __init__.py, and the KB folder) under its installed name."""
    found = {}
    for name, folder in SETUPTOOLS["package-dir"].items():
        root = ROOT / folder
        if (root / "__init__.py").exists() or any(root.glob("*.yaml")):
            found[name] = root
        for init in root.rglob("__init__.py"):
            sub = init.parent.relative_to(root)
            if sub.parts and "__pycache__" not in sub.parts:
                found.setdefault(".".join((name, *sub.parts)), init.parent)
    return found


def test_every_package_folder_is_in_the_packages_list():
    on_disk = set(_package_folders())
    listed = set(SETUPTOOLS["packages"])
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == set(), "listed packages with no folder on disk"


def test_the_version_is_written_once():
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "diagnose.__version__"}


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, **kw)
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in set(SETUPTOOLS["package-dir"].values()):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(work)]
        + [str(source)],
        cwd=work,
    )
    (built,) = work.glob("*.whl")
    return built


@pytest.mark.slow
def test_wheel_installs_one_package_with_its_kb(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"diagnose"}
    shipped = sorted(p.name for p in (ROOT / "kb").glob("*.yaml"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("diagnose/kb/entries/")) == shipped
    assert "diagnose/tui/app.tcss" in names
    assert "diagnose/capture/hookdir/sitecustomize.py" in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "diagnose = diagnose.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def _dependencies_line() -> str:
    """This virtualenv's site-packages, for a .pth file: the dependencies without the editable checkout."""
    return sysconfig.get_paths()["purelib"] + "\n"


def _check_installation(python: Path, script: Path, site: Path, environment: dict[str, str], cwd: Path) -> None:
    where = _run(
        [
            str(python),
            "-c",
            "import diagnose, diagnose.tui, diagnose.paths as p; print(diagnose.__file__); "
            "print(diagnose.tui.__file__); print(p.SHIPPED_KB)",
        ],
        env=environment,
        cwd=cwd,
    ).stdout.split()
    assert all(Path(path).is_relative_to(site) for path in where), where
    assert not Path(where[2]).is_relative_to(ROOT)
    missing = subprocess.run([str(python), "-c", "import tui"], capture_output=True, env=environment, cwd=cwd)
    assert missing.returncode == 1 and b"ModuleNotFoundError" in missing.stderr

    example = yaml.safe_load((ROOT / "kb" / f"{EXAMPLE_ENTRY}.yaml").read_text())["examples"][0]["text"]
    paste = cwd / "paste.txt"
    paste.write_text(example)
    report = json.loads(_run([str(script), "explain", "--json", str(paste)], env=environment, cwd=cwd).stdout)
    assert report["diagnoses"][0]["id"] == EXAMPLE_ENTRY

    listing = _run([str(script), "kb", "list", "--json"], env=environment, cwd=cwd).stdout
    entries = json.loads(listing)
    assert sorted(e["id"] for e in entries) == sorted(p.stem for p in (ROOT / "kb").glob("*.yaml"))
    assert {e["origin"] for e in entries} == {"shipped"}


def _clean_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    environment.update(HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1", **extra)
    (tmp_path / "home").mkdir(exist_ok=True)
    return environment


@pytest.mark.slow
def test_wheel_in_a_clean_virtualenv(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    environment = _clean_environment(tmp_path)
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        env=environment,
    )
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "dependencies.pth").write_text(_dependencies_line())
    _check_installation(python, venv / "bin" / "diagnose", site, environment, tmp_path)


@pytest.mark.slow
def test_wheel_installed_with_user_into_a_temporary_home(wheel, tmp_path):
    base = Path(sys._base_executable)
    environment = _clean_environment(tmp_path, PYTHONUSERBASE=str(tmp_path / "userbase"))
    _run(
        [sys.executable, "-m", "pip", "--python", str(base), "install", "-q", "--user", "--no-deps", "--no-index"]
        + ["--no-warn-script-location", str(wheel)],
        env=environment,
    )
    site = Path(
        _run([str(base), "-c", "import site; print(site.getusersitepackages())"], env=environment).stdout.strip()
    )
    assert (site / "diagnose").is_dir()
    (site / "dependencies.pth").write_text(_dependencies_line())
    _check_installation(base, tmp_path / "userbase" / "bin" / "diagnose", site, environment, tmp_path)
