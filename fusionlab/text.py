"""Names from a model are data: make them safe for a terminal, a text report or rich markup.

Node names, op types, domains, tensor names and file names come from the model (or the
user's file system) and may hold anything: ANSI CSI/OSC escape sequences, a newline that
would start a forged report line, bidi controls such as RLO (U+202E) that reorder what a
reader sees, NUL, or rich markup (``[link=...]``, ``[/]``). Every human-readable output
passes such strings through :func:`printable` (plain text) or :func:`markup` (text handed
to rich). JSON keeps names exact (``json.dumps`` escapes control characters itself);
SARIF and HTML escape as their formats require.

Standard library only (imported by the start-up path); rich is imported on first use of
:func:`markup`.
"""
from __future__ import annotations

import re

# C0 controls (includes NUL, TAB, LF, CR, ESC), DEL, C1 controls, and the Unicode bidi
# controls (LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM ALM) and line/paragraph
# separators, which a terminal or a viewer would act on instead of showing.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """Return ``text`` with every control or bidi character written as a visible escape.

    ``"a\\x1b[31mb"`` becomes ``"a\\\\x1b[31mb"`` (the backslash form shown, not the byte),
    ``"x\\ny"`` becomes ``"x\\\\x0ay"`` (so a name can never start a new line of a report),
    ``"\\u202e"`` becomes ``"\\\\u202e"``. Printable characters, including non-ASCII
    letters, are kept. A non-string is converted with ``str`` first; bytes that are not
    valid UTF-8 should be decoded with ``errors="backslashreplace"`` before they get here.
    """
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape_one, s)


def markup(text: object) -> str:
    """Return ``text`` made printable (:func:`printable`) and escaped for rich markup.

    ``"[/bold]"`` becomes ``"\\\\[/bold]"`` so rich shows it literally instead of raising
    ``MarkupError`` or rendering a link. Use it for every model-derived string placed in a
    rich ``Table`` cell or a ``console.print`` markup string.
    """
    from rich.markup import escape

    return escape(printable(text))
