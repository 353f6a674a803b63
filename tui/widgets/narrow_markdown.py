"""Markdown tables as lists, for reading on a narrow terminal.

A four-column table squeezed into 80 columns shows `Ho…` and `Machi…`: the cells are cut, and
what is cut is what the reader needed. As a list every value is whole and wraps where it must:
`- **demand-forecast** — Hops: 1 · Owner: Machine Learning · Versions: 5`. Only the preview is
changed; the file keeps its tables (a wide screen and any markdown viewer show them as tables).
"""

from __future__ import annotations

import re

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def tables_as_lists(markdown: str) -> str:
    """`markdown` with each pipe table replaced by one list item per row, headers as labels."""
    lines = markdown.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _is_row(line) and index + 1 < len(lines) and _SEPARATOR.match(lines[index + 1]):
            headers = _cells(line)
            index += 2
            while index < len(lines) and _is_row(lines[index]):
                out.append(_item(headers, _cells(lines[index])))
                index += 1
            continue
        out.append(line)
        index += 1
    text = "\n".join(out)
    return text + "\n" if markdown.endswith("\n") else text


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def _cells(line: str) -> list[str]:
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [cell.strip() for cell in _CELL_SPLIT.split(text)]


def _item(headers: list[str], cells: list[str]) -> str:
    """One row: its first cell in bold, then each other cell named by its header."""
    first = cells[0] if cells else ""
    rest = [
        (header, cell)
        for header, cell in zip(headers[1:], cells[1:], strict=False)
        if cell and cell != "-"
    ]
    if len(headers) == 2:  # a field and its value
        return f"- **{first}**: {rest[0][1] if rest else '-'}"
    labelled = " · ".join(f"{header}: {cell}" for header, cell in rest)
    return f"- **{first}** — {labelled}" if labelled else f"- **{first}**"
