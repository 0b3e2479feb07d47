"""Where lora-diagnose keeps user state: one directory, overridable.

``DIAGNOSE_USER_DIR`` overrides the platform data directory (tests point it at
a temporary folder so no test touches the real home).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent


def _shipped_kb() -> Path:
    """kb/ beside the package in a source checkout; the package data diagnose/kb/entries when installed.

    An installed wheel (venv, ``pip install --user``, /usr/local) keeps the YAML
    files inside the package, so they are found wherever the package is.
    """
    checkout = PACKAGE_ROOT.parent / "kb"
    if (PACKAGE_ROOT.parent / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    from importlib.resources import files

    return Path(str(files("diagnose.kb") / "entries"))


SHIPPED_KB = _shipped_kb()


def user_dir() -> Path:
    override = os.environ.get("DIAGNOSE_USER_DIR")
    if override:
        path = Path(override)
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("lora-diagnose", appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a reader sees the old file or the new one), owner-only.

    Raises OSError; the temporary file is gone either way.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def database_path() -> Path:
    return user_dir() / "progress.sqlite3"


def last_report_path() -> Path:
    return user_dir() / "last-report.json"
