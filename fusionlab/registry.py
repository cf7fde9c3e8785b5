"""Rule discovery: the built-in rule pack and the packs other distributions register.

A rule pack is a module or package whose modules define :class:`fusionlab.rule.Rule`
subclasses. fusionlab's own pack is ``fusionlab.rules`` (the ``rules/`` folder of the
source tree, installed under that name by setuptools' ``package-dir``). Another
distribution adds a pack through the entry-point group ``fusionlab.rules``::

    # pyproject.toml of a team's rule pack
    [project.entry-points."fusionlab.rules"]
    myteam = "myteam_rules"                  # a package: every module is searched
    one = "myteam_rules.extra:MyRule"        # or one Rule subclass

The engine asks this module for rules and knows none of them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

from fusionlab.errors import InputError

#: The entry-point group rule packs register under.
ENTRY_POINT_GROUP = "fusionlab.rules"
#: fusionlab's own rule pack.
BUILTIN_PACK = "fusionlab.rules"


def pack_entry_points() -> list[tuple[str, str]]:
    """``(entry-point name, value)`` of every installed rule pack but the built-in one,
    sorted by name (reads package metadata only; imports nothing)."""
    from importlib.metadata import entry_points

    found = {(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted((n, v) for n, v in found if v != BUILTIN_PACK)


def _modules_of(module: ModuleType) -> list[ModuleType]:
    """``module`` and, for a package, every module below it (``_private`` ones skipped)."""
    found = [module]
    if hasattr(module, "__path__"):
        for info in sorted(pkgutil.walk_packages(module.__path__, module.__name__ + "."),
                           key=lambda i: i.name):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            found.append(importlib.import_module(info.name))
    return found


def _rules_in(value: str) -> list[type]:
    """The Rule subclasses an entry-point value names: ``pkg.mod`` or ``pkg.mod:Class``."""
    from fusionlab.rule import Rule

    modname, _, attr = value.partition(":")
    try:
        module = importlib.import_module(modname)
        if attr:
            obj = getattr(module, attr)
            if not (inspect.isclass(obj) and issubclass(obj, Rule)):
                raise InputError(f"rule pack entry {value!r} is not a fusionlab Rule subclass")
            return [obj]
    except InputError:
        raise
    except Exception as exc:  # a broken third-party pack: one line, not a traceback
        raise InputError(f"rule pack {value!r} failed to load: {type(exc).__name__}: {exc}") from exc
    return [obj for mod in _modules_of(module) for _, obj in inspect.getmembers(mod, inspect.isclass)
            if issubclass(obj, Rule) and obj is not Rule and obj.__module__ == mod.__name__ and obj.code]


def discover_rules(*, plugins: bool = True) -> list[type]:
    """Every rule of the built-in pack and (with ``plugins``) of every registered pack,
    sorted by code.

    Returns:
        Rule subclasses (``list[type[Rule]]``), one per code.

    Raises:
        InputError: two rules share a code or a name, or a pack fails to import.
    """
    values = [BUILTIN_PACK] + ([v for _, v in pack_entry_points()] if plugins else [])
    found: dict[str, type] = {}
    names: dict[str, str] = {}
    for value in values:
        for obj in _rules_in(value):
            if obj.code in found and found[obj.code] is not obj:
                raise InputError(f"rules {found[obj.code].__module__}.{found[obj.code].__name__} and "
                                 f"{obj.__module__}.{obj.__name__} share code {obj.code}")
            if obj.name in names and names[obj.name] != obj.code:
                raise InputError(f"rules {names[obj.name]} and {obj.code} share name {obj.name}")
            found[obj.code] = obj
            names[obj.name] = obj.code
    return [found[c] for c in sorted(found)]
