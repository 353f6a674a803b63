"""Who owns an asset, who is on call for it right now, and who comes next if nobody answers."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from tui.widgets.vocabulary import format_until, short_ref


def _person(person: Any) -> Content:
    email = f" <{person.email}>" if getattr(person, "email", None) else ""
    return Content.from_markup(
        "$name[dim]$email[/]", name=person.name or short_ref(person.ref), email=email
    )


def _entity_lines(entity: Any) -> list[Content]:
    lines = [
        Content.from_markup("[b]$label[/b] [dim]$ref[/]", label=entity.label, ref=entity.ref),
    ]
    kind = f"{entity.kind} · {entity.type}" if entity.type else entity.kind
    lines.append(Content.from_markup("[dim]$kind[/]", kind=kind))
    if entity.description:
        lines.append(Content(entity.description.strip().split("\n", 1)[0]))
    lines.append(Content(""))
    return lines


def ownership_content(ownership: Any, entity: Any | None = None) -> Content:
    """The ownership block: owner, on call now (and until when), escalation, members."""
    lines: list[Content] = _entity_lines(entity) if entity is not None else []
    label = "Team" if entity is not None and entity.kind == "group" else "Owner"
    definitions = getattr(ownership, "definitions", ())
    if len(definitions) > 1:
        lines.append(
            Content.from_markup(
                "[b]Owner[/b]      [$error]⚠ unknown: defined $n times[/], fix the catalog:",
                n="twice" if len(definitions) == 2 else str(len(definitions)),
            )
        )
        lines.extend(Content.from_markup("  • $d", d=str(d)) for d in definitions)
        return Content("\n").join(lines)
    if ownership.owner and not getattr(ownership, "owner_in_catalog", True):
        lines.append(
            Content.from_markup(
                f"[b]{label:<10}[/b] $o [$warning](not in the catalog)[/]",
                o=short_ref(ownership.owner),
            )
        )
    elif ownership.owner:
        lines.append(Content.from_markup(f"[b]{label:<10}[/b] $o", o=short_ref(ownership.owner)))
    else:
        lines.append(
            Content.from_markup(
                "[b]Owner[/b]      [$warning]⚠ none in the catalog[/]: add spec.owner"
            )
        )
    on_call = ownership.on_call
    if on_call is not None:
        lines.append(
            Content.assemble(
                Content.from_markup("[b]On call[/b]    [$success]☎[/] "), _person(on_call)
            )
        )
        rotation = f" ({short_ref(on_call.rotation)})" if on_call.rotation else ""
        lines.append(
            Content.from_markup(
                "[dim]           until $until$rot[/]",
                until=format_until(on_call.until),
                rot=rotation,
            )
        )
    elif ownership.owner:
        lines.append(
            Content.from_markup("[b]On call[/b]    [$warning]⚠ no rotation[/]: call the members")
        )
    if ownership.escalation:
        chain = " → ".join(short_ref(r) for r in ownership.escalation)
        lines.append(Content.from_markup("[b]Escalation[/b] $chain", chain=chain))
    if ownership.members:
        lines.append(Content.from_markup("[b]Members[/b]"))
        lines.extend(Content.assemble("  • ", _person(p)) for p in ownership.members)
    return Content("\n").join(lines)


class OwnershipPanel(Static):
    """Shows `ownership_content`; plain text while loading."""

    def show(self, ownership: Any, entity: Any | None = None) -> None:
        self.update(ownership_content(ownership, entity))
