"""Make untrusted text inert before it reaches a terminal, a rich console or a spreadsheet.

Ids, model names, paths and messages come from files other people made (result files, annotation
files, folder names). Printed raw, a control character in one of them can clear the screen, move the
cursor, retitle the window or hide text (ANSI escape sequences, a bare carriage return), and a bidi
override can make text read in a different order than it is stored. ``printable`` writes every such
character as a visible ``\\xNN`` / ``\\uNNNN`` escape, so what is printed is what is there. Strings that
go through rich also need ``rich.markup.escape`` (``rich_text`` does both), or ``[red]...`` in an id
would be taken as markup.

A spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` (and, in some programs, tab or
carriage return) as a formula: ``spreadsheet_cell`` prefixes such a cell with a single quote (the
OWASP rule), except a cell that is a plain number, so negative values stay numeric.
"""

from __future__ import annotations

import re

# C0 (newline and tab included: one printed field is one line), DEL, C1 (0x9b is an 8-bit CSI),
# the bidi controls (embeddings, overrides, isolates, marks), the line/paragraph separators, and lone
# surrogates (undecodable file-name bytes, or "\udc80" in JSON), which no UTF-8 terminal can encode.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """``str(value)`` with every control, bidi-control and lone-surrogate character escaped."""
    return _UNSAFE.sub(_escape, str(value))


def printable_lines(value: object) -> str:
    """Like ``printable``, but keeps the line breaks of a message meant to span lines."""
    return "\n".join(printable(line) for line in str(value).split("\n"))


def rich_text(value: object) -> str:
    """Text safe to embed in a rich markup string: control characters escaped, then markup."""
    from rich.markup import escape

    return escape(printable(value))


def spreadsheet_cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates (numbers stay numbers)."""
    text = printable(value)
    stripped = text.lstrip(" ")
    if stripped.startswith(_FORMULA_START) and not _NUMBER.fullmatch(stripped.strip()):
        return "'" + text
    return text
