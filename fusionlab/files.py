"""Atomic file writes: every file fusionlab writes appears whole or not at all.

One writer for every output (reports, ``--save-log``, rewritten models and their
``.data`` files, ``--save-engine`` engines, timing caches, README's rule catalogue): the
bytes go to a temp file with a random name (:func:`tempfile.mkstemp`) in the target's
own folder, which then replaces the target (:func:`os.replace`, atomic on POSIX and
Windows within one file system). A failed write removes the temp file and leaves the
target as it was.

Output policy (:func:`check_outputs`, called by every command before any work): an
output path may not resolve (:func:`os.path.realpath`, so through symlinks and ``..``) to
an input file, to an input model's external-data file, or to another output of the same
run; nor may it be an existing non-regular file (a device, FIFO, socket or directory),
which :func:`os.replace` would replace or a write would block on.

Read policy (:func:`check_readable`, called before a file is opened): an input must be
an existing regular file (after symlinks; a FIFO would block the read forever, a device
such as ``/dev/zero`` never ends) no larger than its kind's limit
(:data:`MODEL_LIMIT` for an ``.onnx`` file, :data:`TEXT_LIMIT` for a log or JSON file).

Standard library only (the TensorRT build worker's parent uses it).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from fusionlab.errors import InputError

__all__ = ["MODEL_LIMIT", "TEXT_LIMIT", "atomic_files", "check_outputs", "check_path", "check_readable",
           "check_writable", "write_atomic"]

#: Largest ``.onnx`` file read, bytes (4 GiB; protobuf itself stops at 2 GiB, larger
#: models keep their weights in external data).
MODEL_LIMIT = 4 << 30
#: Largest build log, layer-info or profile JSON read, bytes (256 MiB).
TEXT_LIMIT = 256 << 20


#: Longest path the kernel takes, bytes with the terminating NUL (``PATH_MAX``, Linux 4096).
PATH_MAX = 4096
#: Longest file or folder name, bytes (``NAME_MAX``, 255 on ext4, xfs, btrfs, tmpfs).
NAME_MAX = 255


def _limit(folder: str, name: str, default: int) -> int:
    """``os.pathconf`` of the nearest existing folder, else ``default``."""
    try:
        while folder and not os.path.isdir(folder):
            folder = os.path.dirname(folder.rstrip("/")) if folder.rstrip("/") else ""
        return int(os.pathconf(folder or ".", name))
    except (OSError, ValueError, AttributeError):
        return default


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:40]) + f"... ({len(text)} characters)"


def check_path(path: str | os.PathLike, what: str = "path", *,
               error: type[InputError] = InputError) -> Path:
    """Refuse a path no system call could take, before any is made.

    Args:
        path: the path as given (relative or absolute).
        what: what it is, for the message (``"--save-log"``, ``"ONNX model"``).
        error: the error class raised (exit code 2).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        error: the path holds a NUL byte, is :data:`PATH_MAX` bytes or longer, or one of
            its names is longer than :data:`NAME_MAX` bytes (the limits of its file
            system, ``os.pathconf``, where it exists).
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\x00" in text:
        raise error(f"{what} {_short(text)}: a path cannot contain a NUL byte")
    raw = os.fsencode(text)
    folder = os.path.dirname(os.path.abspath(text)) if len(raw) < PATH_MAX else "/"
    path_max = _limit(folder, "PC_PATH_MAX", PATH_MAX)
    if len(raw) >= path_max:
        raise error(f"{what} {_short(text)}: is {len(raw)} bytes long, over the system's limit of "
                    f"{path_max - 1} bytes (PATH_MAX)")
    name_max = _limit(folder, "PC_NAME_MAX", NAME_MAX)
    longest = max(raw.split(b"/"), key=len)
    if len(longest) > name_max:
        raise error(f"{what} {_short(text)}: has a name of {len(longest)} bytes, over the system's limit "
                    f"of {name_max} bytes (NAME_MAX)")
    return Path(text)


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def check_readable(path: str | os.PathLike, limit: int, *, what: str = "file",
                   error: type[InputError] = InputError) -> Path:
    """Refuse (before opening it) an input that is not a regular file or is too large.

    Args:
        path: the file; symlinks are followed (``os.stat``).
        limit: the largest size accepted, bytes (:data:`MODEL_LIMIT`, :data:`TEXT_LIMIT`).
        what: what the file is, for the message (``"ONNX model"``, ``"log or JSON file"``).
        error: the error class raised (:class:`InputError` or a subclass such as
            :class:`~fusionlab.errors.ArtifactError`), both exit code 2.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        error: a path :func:`check_path` refuses; missing; a directory, FIFO, device or socket;
            larger than ``limit``; ``stat`` fails.
    """
    path = check_path(path, what, error=error)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: is {_kind(st.st_mode)}, expected a regular file ({what}); refusing to read it")
    if st.st_size > limit:
        raise error(f"{path}: is {_size(st.st_size)}, larger than the {_size(limit)} limit for a {what}")
    return path


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before any work) when ``path`` cannot be written.

    Raises:
        InputError: the path fails :func:`check_path`; it is a folder or another existing
            non-regular file (device, FIFO, socket); its folder is missing, not a folder,
            or not writable.
    """
    path = check_path(path, "output")
    folder = _folder(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the output file's name")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # missing (or a dangling symlink): a new file
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(f"{path}: is not a regular file ({_kind(mode)}); refusing to write over it")
    if not folder.exists():
        raise InputError(f"{path}: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(f"{path}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: folder {str(folder)!r} is not writable")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "a special file"


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def check_outputs(outputs: Mapping[str, str | os.PathLike | None],
                  inputs: Iterable[str | os.PathLike | None] = (), *,
                  updates: Iterable[str] = ()) -> None:
    """Apply the output policy (module doc) to one run, before any work.

    Args:
        outputs: option name (``"-o/--output"``, ``"--report"``...) -> output path, or
            ``None`` when the option is not given.
        inputs: every file the run reads (the model, its external-data files,
            ``--layer-info``...); ``None`` entries are ignored.
        updates: options whose file is read and rewritten on purpose (``--timing-cache``,
            ``--in-place``): each may equal an input, never another output.

    Raises:
        InputError: (exit code 2) an output resolves to an input or to another output, or
            fails :func:`check_writable`.
    """
    given = {opt: p for opt, p in outputs.items() if p is not None}
    for p in given.values():
        check_writable(p)
    real_inputs = {_real(p): os.fspath(p) for p in inputs if p is not None}
    updates = set(updates)
    seen: dict[str, str] = {}
    for opt, p in given.items():
        real = _real(p)
        if real in real_inputs and opt not in updates:
            raise InputError(f"{opt} {os.fspath(p)}: is the input file {real_inputs[real]}; "
                             "choose another output")
        if real in seen:
            raise InputError(f"{seen[real]} and {opt} name the same file {os.fspath(p)}; "
                             "give each output its own file")
        seen[real] = opt


def _file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _mode_for(target: Path, new_mode: int) -> int:
    """The permission bits the file replacing ``target`` gets: the existing file's own
    (as ``open(path, "w")`` keeps them), else ``new_mode`` (the umask's)."""
    try:
        st = os.stat(target)
    except OSError:
        return new_mode
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else new_mode


@contextmanager
def atomic_files(*targets: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield one temp path per target (random name in the target's folder); when the
    block ends normally, each temp replaces its target, in the order given (a temp the
    block deleted installs nothing); otherwise every temp is removed.

    Modes: a new file gets ``0o666 & ~umask``, as ``open(path, "w")`` gives it (mkstemp
    alone would leave 0600); a file that exists keeps its permission bits.

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
            os.chmod(tmp, _mode_for(current, mode))
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
