"""PEP 562 lazy exports, shared by the packages whose names load their module on first
use (``fusionlab``, ``fusionlab.rewriting``, ``fusionlab.verification``)."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_exports(package: str, names: dict[str, str], namespace: dict) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: attribute ``name`` imports the module
    ``names[name]`` (relative to ``package`` unless it starts with ``fusionlab.``), caches
    the value in ``namespace`` (the package's ``globals()``) and returns it.

    Raises (from ``__getattr__``):
        AttributeError: ``name`` is not one of ``names``.
    """

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        full = module if module.startswith("fusionlab.") or module == "fusionlab" else f"{package}.{module}"
        value = getattr(importlib.import_module(full), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
