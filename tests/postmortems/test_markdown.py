"""Escaping: whatever people typed reads back literally and never breaks a table or a line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postmortems.markdown import code_span, escape_cell, escape_heading, escape_text
from tests.postmortems.mdparse import parse

# Text as people type it: any printable character, markdown's own punctuation often, newlines.
TYPED = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        st.sampled_from(list("\n|`\\*_[]<>&~#-+.!()=:   ")),
    ),
    max_size=60,
)


def as_read(text: str) -> str:
    """What a reader should see: each line trimmed, outer blank lines dropped."""
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def table_with(*cells: str) -> str:
    header = "| " + " | ".join(f"h{i}" for i in range(len(cells))) + " |"
    rule = "|" + "---|" * len(cells)
    row = "| " + " | ".join(escape_cell(c) for c in cells) + " |"
    return f"{header}\n{rule}\n{row}\n"


@settings(max_examples=300, deadline=None)
@given(TYPED, TYPED)
def test_any_typed_text_stays_in_its_own_cell_and_reads_back_literally(a: str, b: str) -> None:
    doc = parse(table_with(a, b))
    assert len(doc.tables) == 1
    table = doc.tables[0]
    assert table.rows == [[as_read(a), as_read(b)]]


def test_a_pipe_a_backtick_and_a_newline_in_a_note_do_not_break_the_row() -> None:
    note = "rolled back | v12 `champion`\nthen `|` again"
    doc = parse(table_with("x", note, "y"))
    assert doc.tables[0].rows == [["x", note, "y"]]


def test_html_in_a_note_is_shown_as_text_not_markup() -> None:
    doc = parse(table_with("<script>alert(1)</script> &amp;"))
    assert doc.tables[0].rows == [["<script>alert(1)</script> &amp;"]]


@settings(max_examples=200, deadline=None)
@given(TYPED)
def test_text_in_a_list_item_reads_back_on_one_line(value: str) -> None:
    doc = parse(f"- Label: {escape_text(value)}\n- next\n")
    expected = " ".join(line.strip() for line in value.split("\n")).strip()
    assert doc.paragraphs[0][1] == f"Label: {expected}".strip()
    assert doc.paragraphs[1][1] == "next"


@settings(max_examples=200, deadline=None)
@given(TYPED)
def test_text_that_starts_a_list_item_does_not_open_a_block(value: str) -> None:
    escaped = escape_text(value)
    doc = parse(f"- {escaped}\n- next\n" if escaped else "- x\n- next\n")
    expected = " ".join(line.strip() for line in value.split("\n")).strip() or "x"
    assert [p[1] for p in doc.paragraphs] == [expected, "next"]
    assert not doc.tables and not doc.headings


def test_a_title_ending_in_hashes_keeps_them_in_the_heading() -> None:
    doc = parse(f"# Postmortem: {escape_heading('Queue #3 ##')}\n")
    assert doc.headings == [(1, "Postmortem: Queue #3 ##")]


@settings(max_examples=200, deadline=None)
@given(TYPED)
def test_a_code_span_shows_its_text_exactly_even_in_a_table(value: str) -> None:
    one_line = " ".join(value.split("\n"))
    doc = parse(table_with("x").replace("| x |", f"| {code_span(value, in_table=True)} |"))
    cell = doc.tables[0].rows[0][0]
    if one_line.strip():
        assert cell == one_line
    else:
        assert cell.strip() == ""
