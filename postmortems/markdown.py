"""Escaping text for markdown, so that what people typed shows up literally and breaks nothing.

Timeline messages, notes and catalog names are data, not markdown: a `|` in a note must not split
a table cell, a backtick must not open a code span that swallows the rest of the row, a newline
must not end the row, and `<script>` must stay text. CommonMark lets a backslash escape any ASCII
punctuation, and GFM tables honour `\\|` even inside code spans, so escaping every punctuation
character that has a meaning is enough; newlines inside a cell become `<br>`.
"""

from __future__ import annotations

import re

# The characters that have a meaning inside a line; '.', '-', '#', '+' and digits matter only at
# the start of a line, which a table cell and a value in the middle of a sentence never are.
_TEXT_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")
_BLOCK_START = re.compile(r"^(\d{0,9})([#+\-=.)])")
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
# Unicode categories Cc (but tab, newline, carriage return) and Cs.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(text: str) -> str:
    """Drop control characters (but newlines and tabs) and lone surrogates: they cannot be shown."""
    return _UNSHOWABLE.sub("", text)


def escape_text(value: object) -> str:
    """Text shown literally in a paragraph, list item or table cell; newlines become spaces."""
    text = _clean("" if value is None else str(value))
    text = _TEXT_SPECIAL.sub(r"\\\1", text)
    text = " ".join(part.strip() for part in _NEWLINES.split(text)).strip()
    # A value may end up first on a line or list item: keep it from opening a block there.
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)


def escape_cell(value: object) -> str:
    """Text shown literally inside one GFM table cell; newlines become `<br>`, empty stays empty."""
    text = _clean("" if value is None else str(value)).strip()
    text = _TEXT_SPECIAL.sub(r"\\\1", text)
    lines = [line.strip() for line in _NEWLINES.split(text)]
    return "<br>".join(lines).replace("\t", " ")


def escape_heading(value: object) -> str:
    """Text after a heading's first words: a trailing run of `#` would be read as its closing."""
    text = escape_text(value)
    return re.sub(r"(#+)$", lambda m: "\\#" * len(m.group(1)), text)


def code_span(value: object, in_table: bool = False) -> str:
    """`value` as an inline code span whose fence is longer than any backtick run inside it."""
    text = " ".join(_NEWLINES.split(_clean("" if value is None else str(value))))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.strip()):
        text = f" {text} "
    span = f"{fence}{text}{fence}" if text else ""
    return span.replace("|", "\\|") if in_table else span
