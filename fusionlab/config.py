"""Project settings for ``fusionlab analyze``: ``[tool.fusionlab]`` in ``pyproject.toml``
or the top level of ``fusionlab.toml``.

The file is found by walking up from the model's folder (the first folder holding a
``fusionlab.toml``, or a ``pyproject.toml`` with a ``[tool.fusionlab]`` table, wins;
``fusionlab.toml`` before ``pyproject.toml`` in one folder), or given with ``--config``.
Keys (kebab-case, as ruff spells its own)::

    [tool.fusionlab]
    target = "tensorrt-rtx"          # tensorrt | tensorrt-rtx
    precision = "fp16"               # fp32 | fp16 | bf16 | int8
    sm = 8.9                         # GPU compute capability
    shapes = "input_ids:1x128"       # trtexec --shapes syntax (a string or a list of them)
    select = ["TRT1", "TRT4"]        # code prefixes to keep (replaces the default: all)
    extend-select = ["TRT5"]         # added to select
    ignore = ["TRT503"]              # code prefixes to drop
    fail-on = "warning"              # error | warning | info (missed | lint: old names)
    output-format = "concise"        # full | concise | json | sarif | github | html

    [tool.fusionlab.per-node-ignores]
    "/pooler/*" = ["TRT302"]         # fnmatch glob on any node of a finding -> prefixes

Command-line options override the file. An unknown key, a value of the wrong type or an
unknown rule code is an :class:`fusionlab.errors.InputError` naming it (exit 2). Standard
library only (``tomllib``); codes are checked against the catalogue's JSON, so
``fusionlab config`` imports no rule.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fusionlab.errors import InputError

#: Accepted keys and what each must be.
KEYS = {
    "target": ("tensorrt", "tensorrt-rtx"),
    "precision": ("fp32", "fp16", "bf16", "int8"),
    "sm": float,
    "shapes": "shapes",
    "select": list,
    "extend-select": list,
    "ignore": list,
    "fail-on": ("error", "warning", "info", "missed", "lint"),
    "output-format": ("full", "concise", "json", "sarif", "github", "html"),
    "per-node-ignores": dict,
}


@dataclass
class Settings:
    """The settings in force and where they come from.

    Attributes:
        path: the file read, or ``None`` (no file found).
        values: the file's keys (kebab-case) with validated values; codes upper case.
    """

    path: Path | None = None
    values: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    @property
    def selection(self) -> list[str] | None:
        """``select`` plus ``extend-select`` (``None``: every rule)."""
        sel = self.values.get("select")
        if sel is None:
            return None
        return sel + self.values.get("extend-select", [])


def find_config(start: Path) -> Path | None:
    """The nearest ``fusionlab.toml``, or ``pyproject.toml`` with ``[tool.fusionlab]``, in
    ``start`` (a folder, or a file's folder) or a folder above it."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for d in (folder, *folder.parents):
        if (d / "fusionlab.toml").is_file():
            return d / "fusionlab.toml"
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                if "fusionlab" in tomllib.loads(py.read_text(encoding="utf-8")).get("tool", {}):
                    return py
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                continue
    return None


def _codes(key: str, value, known: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"config key {key!r}: expected a list of rule codes, got {value!r}")
    out = []
    for v in value:
        for part in v.split(","):
            code = part.strip().upper()
            if code and not any(k.startswith(code) for k in known):
                raise InputError(f"config key {key!r}: unknown rule code or prefix {part.strip()}")
            if code:
                out.append(code)
    return out


def load_config(path: Path, known_codes: list[str] | None = None) -> Settings:
    """Read and validate one settings file.

    Args:
        path: a ``fusionlab.toml`` (top-level keys) or a ``pyproject.toml`` (its
            ``[tool.fusionlab]`` table; an absent table gives no settings).
        known_codes: the catalogue's codes (default: the built-in catalogue and installed
            packs, :func:`fusionlab.catalogue.listed_rows`).

    Raises:
        InputError: the file is missing or not TOML, or holds an unknown key, a bad value
            or an unknown rule code (named in the message).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: config file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("fusionlab", {})
    if not isinstance(data, dict):
        raise InputError(f"{path}: [tool.fusionlab] must be a table")
    if known_codes is None:
        from fusionlab.catalogue import listed_rows

        known_codes = [r["code"] for r in listed_rows()]
    values: dict = {}
    for key, value in data.items():
        kind = KEYS.get(key)
        if kind is None:
            raise InputError(f"{path}: unknown config key {key!r}; known: {', '.join(KEYS)}")
        if isinstance(kind, tuple):
            if value not in kind:
                raise InputError(f"{path}: config key {key!r} must be one of {', '.join(kind)}, got {value!r}")
            values[key] = value
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InputError(f"{path}: config key 'sm' must be a compute capability such as 8.6, got {value!r}")
            values[key] = float(value)
        elif kind is list:
            values[key] = _codes(key, value, known_codes)
        elif kind == "shapes":
            from fusionlab.shapes import parse_spec

            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{path}: config key 'shapes' must be a string such as \"x:1x3x224x224,y:1x64\" "
                                 f"(trtexec's --shapes) or a list of them, got {value!r}")
            try:
                parse_spec(value, "config key 'shapes'")
            except InputError as exc:
                raise InputError(f"{path}: {exc.message}") from None
            values[key] = value
        else:
            if not isinstance(value, dict):
                raise InputError(f"{path}: config key {key!r} must be a table of glob = [codes]")
            values[key] = {str(g): _codes(f"{key}.{g}", c, known_codes) for g, c in value.items()}
    return Settings(path, values)


def settings_for(model: Path | None, config: Path | None) -> Settings:
    """The settings for analyzing ``model``: ``config`` if given, else the file found from
    the model's folder (else from the current folder), else none.

    Raises:
        InputError: as :func:`load_config`.
    """
    path = config if config is not None else find_config(model if model is not None else Path.cwd())
    return Settings() if path is None else load_config(path)
