"""Reading and writing the rewritten model's files."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx.external_data_helper import (
    _get_all_tensors,
    convert_model_to_external_data,
    write_external_data_tensors,
)

from fusionlab.errors import InputError
from fusionlab.files import atomic_files, check_writable


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
    """Fail early (before any work) when ``path`` cannot be written
    (:func:`fusionlab.files.check_writable`).

    Raises:
        InputError: the folder is missing, not a folder, or not writable; the path is a folder.
    """
    check_writable(path)


def write_model_atomic(model: onnx.ModelProto, path: Path, external: bool) -> list[Path]:
    """Write ``model`` to ``path`` atomically (:func:`fusionlab.files.atomic_files`):
    nothing half-written, and on failure nothing left behind.

    With ``external`` the tensors of 1 KB or more go to ``<name>.data`` beside ``path``
    (moved out of ``model``'s protos, as ``onnx.save_model`` does); that file is put in
    place before the model that reads it. Returns the files written.

    Raises:
        InputError: the folder is missing or not writable, or a write fails (protobuf's
            2 GB limit without external data included).
    """
    path = Path(path)
    check_writable(path)
    data_path = path.with_name(f"{path.name}.data")
    if not external:
        with atomic_files(path) as (tmp,):
            _serialize(model, tmp, path)
        return [path]
    with atomic_files(data_path, path) as (tmp_data, tmp):
        convert_model_to_external_data(model, all_tensors_to_one_file=True, location=tmp_data.name,
                                       size_threshold=1024)
        write_external_data_tensors(model, str(tmp_data.parent))
        moved = False
        for tensor in _external_tensors(model):
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = data_path.name
                    moved = True
        if not moved:  # no tensor large enough: no .data file
            tmp_data.unlink()
        _serialize(model, tmp, path)
    return [path, data_path] if moved else [path]


def _external_tensors(model: onnx.ModelProto):
    for tensor in _get_all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            yield tensor


def _serialize(model: onnx.ModelProto, tmp: Path, path: Path) -> None:
    try:
        data = model.SerializeToString()
    except ValueError as exc:  # protobuf's 2 GB limit without external data
        raise InputError(f"{path}: cannot write: {exc}") from None
    tmp.write_bytes(data)
