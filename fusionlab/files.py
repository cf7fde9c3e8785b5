"""Atomic file writes: every file fusionlab writes appears whole or not at all.

One writer for every output (reports, ``--save-log``, rewritten models and their
``.data`` files, ``--save-engine`` engines, timing caches, README's rule catalogue): the
bytes go to a temp file with a random name (:func:`tempfile.mkstemp`) in the target's
own folder, which then replaces the target (:func:`os.replace`, atomic on POSIX and
Windows within one file system). A failed write removes the temp file and leaves the
target as it was.

Standard library only (the TensorRT build worker's parent uses it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fusionlab.errors import InputError

__all__ = ["atomic_files", "check_writable", "write_atomic"]


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before any work) when ``path`` cannot be written.

    Raises:
        InputError: the path is a folder; its folder is missing, not a folder, or not
            writable.
    """
    path = Path(path)
    folder = _folder(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the output file's name")
    if not folder.exists():
        raise InputError(f"{path}: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(f"{path}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: folder {str(folder)!r} is not writable")


def _file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_files(*targets: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield one temp path per target (random name in the target's folder); when the
    block ends normally, each temp replaces its target, in the order given (a temp the
    block deleted installs nothing); otherwise every temp is removed.

    Example::

        with atomic_files("model.onnx.data", "model.onnx") as (data, model):
            ...  # write both; the .data file is in place before the model that reads it

    Raises:
        InputError: a folder is missing or not writable, or a write or rename fails
            (``OSError`` inside the block included); nothing is left behind.
    """
    paths = [Path(t) for t in targets]
    temps: list[Path] = []
    current = paths[0] if paths else Path(".")
    try:
        mode = _file_mode()
        for current in paths:
            folder = _folder(current)
            if not folder.is_dir():
                raise InputError(f"{current}: folder {str(folder)!r} does not exist")
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{current.name}.", suffix=".tmp")
            os.close(fd)
            temps.append(Path(tmp))
            os.chmod(tmp, mode)
        current = paths[0] if paths else current
        yield list(temps)
        for tmp, current in zip(temps, paths):
            if tmp.exists():
                os.replace(tmp, current)
    except OSError as exc:
        raise InputError(f"{current}: cannot write: {exc.strerror or exc}") from None
    finally:
        for tmp in temps:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:  # pragma: no cover - a folder that turned read-only
                pass


def write_atomic(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text or bytes) to ``path`` atomically; returns the path.

    Raises:
        InputError: the folder is missing or not writable, or the write fails.
    """
    with atomic_files(path) as (tmp,):
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
    return Path(path)
