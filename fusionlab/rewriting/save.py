"""Reading and writing the rewritten model's files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx

from fusionlab.errors import InputError


def has_external_data(path: str | os.PathLike) -> bool:
    """Whether the ONNX file at ``path`` keeps any initializer in external data."""
    proto = onnx.load_model(str(path), load_external_data=False)
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)


def save_model(model: onnx.ModelProto, path: Path, external: bool) -> None:
    """Plain save (no atomicity): with ``external``, all tensors in ``<name>.data`` beside it."""
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{path.name}.data", size_threshold=1024)
    else:
        onnx.save_model(model, str(path))


def check_output_path(path: Path) -> None:
    """Fail early (before any work) when ``path`` cannot be written.

    Raises:
        InputError: the folder is missing, not a folder, or not writable; the path is a folder.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the output model's file name")
    if not folder.exists():
        raise InputError(f"{path}: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(f"{path}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: folder {str(folder)!r} is not writable")


def write_model_atomic(model: onnx.ModelProto, path: Path, external: bool) -> list[Path]:
    """Write ``model`` to ``path`` through temp files + rename, nothing half-written.

    With ``external`` the tensors go to ``<name>.data`` beside ``path`` (written first,
    renamed first; each file is always whole). Returns the files written.

    Raises:
        InputError: the folder is missing or not writable, or a write fails (the temp
            files are removed).
    """
    check_output_path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}."))
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    written: list[Path] = []
    try:
        try:
            save_model(model, tmp / path.name, external)
        except ValueError as exc:  # protobuf's 2 GB limit without external data
            raise InputError(f"{path}: cannot write: {exc}") from None
        if external:
            data = tmp / f"{path.name}.data"
            if data.exists():
                os.replace(data, folder / data.name)
                written.append(folder / data.name)
        os.replace(tmp / path.name, path)
        written.insert(0, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        for leftover in tmp.glob("*"):
            leftover.unlink(missing_ok=True)
        tmp.rmdir()
    return written
