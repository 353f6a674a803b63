"""Reading a generated draft back with a real markdown parser (markdown-it-py, GFM tables on), so
tests check what a reader sees, not the template's source text."""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

PARSER = MarkdownIt("commonmark").enable("table")


@dataclass
class Table:
    heading: str | None
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]


@dataclass
class Document:
    headings: list[tuple[int, str]]
    tables: list[Table]
    paragraphs: list[tuple[str | None, str]]  # (section heading, text)
    html_blocks: list[str]

    def titles(self, level: int) -> list[str]:
        return [text for lvl, text in self.headings if lvl == level]

    def tables_under(self, heading: str) -> list[Table]:
        return [t for t in self.tables if t.heading == heading]

    def text_under(self, heading: str) -> str:
        return "\n".join(text for h, text in self.paragraphs if h == heading)


def inline_text(token: Token) -> str:
    """What a reader sees of an inline token: text, code as written, `<br>` as a newline."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif (
            child.type == "html_inline" and child.content.lower() in ("<br>", "<br/>", "<br />")
        ) or child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "html_inline":
            parts.append(child.content)
    return "".join(parts)


def parse(markdown: str) -> Document:
    tokens = PARSER.parse(markdown)
    headings: list[tuple[int, str]] = []
    tables: list[Table] = []
    paragraphs: list[tuple[str | None, str]] = []
    html_blocks: list[str] = []
    current: str | None = None
    table: Table | None = None
    row: list[str] | None = None
    in_head = False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = inline_text(tokens[i + 1])
            headings.append((int(tok.tag[1]), text))
            current = text
        elif tok.type == "table_open":
            table = Table(current, [])
        elif tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("th_open", "td_open"):
            assert row is not None
            row.append(inline_text(tokens[i + 1]))
        elif tok.type == "tr_close":
            assert table is not None and row is not None
            if in_head:
                table.header = row
            else:
                table.rows.append(row)
        elif tok.type == "table_close":
            assert table is not None
            tables.append(table)
            table = None
        elif tok.type == "inline" and table is None and tokens[i - 1].type == "paragraph_open":
            paragraphs.append((current, inline_text(tok)))
        elif tok.type == "html_block":
            html_blocks.append(tok.content)
    return Document(headings, tables, paragraphs, html_blocks)
