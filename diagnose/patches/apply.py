"""Write a patch into the user's script: checked first, backed up, atomic, mode kept.

Refuses (PatchError, one line, file untouched) when the file is gone, is
library code, is read-only, or changed since it was diagnosed (its sha256 is
not the one the patch was computed from).  The backup is the original bytes in
``NAME.diagnose-bak`` (``.diagnose-bak.1``, ``.2``… when earlier backups
exist: none is ever overwritten).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from diagnose.patches import is_library_path
from diagnose.patches._cst import PatchError

BACKUP_SUFFIX = ".diagnose-bak"


@dataclass
class Applied:
    path: Path
    backup: Path


def check(path_text: str, sha256: str) -> tuple[Path, bytes]:
    """The script's path and bytes, if the patch can be written there; else PatchError."""
    path = Path(path_text)
    if not path.exists():
        raise PatchError(f"{path} no longer exists; run the script again to get a new diagnosis")
    if not path.is_file():
        raise PatchError(f"{path} is not a regular file")
    if is_library_path(path):
        raise PatchError(f"{path} is installed library code; diagnose only patches your own scripts")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PatchError(f"cannot read {path}: {error.strerror}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise PatchError(
            f"{path.name} changed since it was diagnosed; the patch no longer applies "
            f"(run it again under diagnose to get a fresh patch)"
        )
    path = path.resolve()  # a symlinked script: patch the file it points to, keep the link
    if not stat.S_IMODE(path.stat().st_mode) & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise PatchError(f"{path} is read-only; not patched")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PatchError(f"cannot write in {path.parent} (for the backup and the atomic replace); not patched")
    return path, data


def next_backup(path: Path) -> Path:
    candidate = path.with_name(path.name + BACKUP_SUFFIX)
    number = 0
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.name}{BACKUP_SUFFIX}.{number}")
    return candidate


def backups(path: Path) -> list[Path]:
    """Existing backups of ``path``, oldest first."""
    found = []
    first = path.with_name(path.name + BACKUP_SUFFIX)
    if first.exists():
        found.append(first)
    number = 1
    while (candidate := path.with_name(f"{path.name}{BACKUP_SUFFIX}.{number}")).exists():
        found.append(candidate)
        number += 1
    return found


def apply(path_text: str, sha256: str, new_text: str) -> Applied:
    path, original = check(path_text, sha256)
    mode = stat.S_IMODE(path.stat().st_mode)
    backup = _write_backup(path, original, mode)
    atomic_write(path, new_text.encode("utf-8"), mode)
    return Applied(path=path, backup=backup)


def restore(path: Path, backup: Path) -> None:
    """Write ``backup``'s bytes back into ``path`` (atomic, the script's mode kept), then drop the backup."""
    mode = stat.S_IMODE((path if path.exists() else backup).stat().st_mode)
    try:
        data = backup.read_bytes()
    except OSError as error:
        raise PatchError(f"cannot read the backup {backup.name}: {error.strerror}; not restored") from None
    atomic_write(path, data, mode)
    backup.unlink(missing_ok=True)


def _write_backup(path: Path, data: bytes, mode: int) -> Path:
    while True:
        backup = next_backup(path)
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:  # another process took that number: take the next one
            continue
        except OSError as error:
            raise PatchError(f"cannot write the backup {backup.name}: {error.strerror}; not patched") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return backup


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".diagnose-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise PatchError(f"cannot write {path}: {error.strerror}; the original is unchanged") from None
