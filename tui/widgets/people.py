"""Who answers for the blast radius right now: on call per affected team, and whom to page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tui.widgets.vocabulary import format_until, short_ref

_DEFAULT_REF = re.compile(r"\b[a-z]+:default/")


def shorten_refs(text: str) -> str:
    """`owns component:default/etl` → `owns etl`: refs in the default namespace read as names."""
    return _DEFAULT_REF.sub("", text)


def people_content(
    teams: Sequence[Any], page: Sequence[Any], unpaged: Sequence[Any] = ()
) -> Content:
    lines: list[Content] = [Content.from_markup("[b]On call by affected team[/b]")]
    if not teams:
        lines.append(
            Content.from_markup("  [$warning]⚠ no owner recorded for any affected asset[/]")
        )
    for team in teams:
        assets = f"{team.asset_count} asset{'s' if team.asset_count != 1 else ''}"
        if team.on_call is None:
            lines.append(
                Content.from_markup(
                    "  $team [dim]($assets)[/] [$warning]⚠ no rotation: page its members[/]",
                    team=short_ref(team.team),
                    assets=assets,
                )
            )
            continue
        until = f" until {format_until(team.on_call.until)}" if team.on_call.until else ""
        lines.append(
            Content.from_markup(
                "  $team [dim]($assets)[/] [$success]☎[/] [b]$who[/b][dim]$until[/]",
                team=short_ref(team.team),
                assets=assets,
                who=team.on_call.name or short_ref(team.on_call.ref),
                until=until,
            )
        )
    lines.append(Content(""))
    lines.append(Content.from_markup("[b]Page[/b] [dim](p pages them)[/]"))
    if not page:
        lines.append(
            Content.from_markup("  [$warning]⚠ nobody to page: the catalog names no one[/]")
        )
    for target in page:
        email = f" <{target.email}>" if target.email else ""
        lines.append(
            Content.from_markup(
                "  ☎ [b]$name[/b][dim]$email[/]",
                name=target.name or short_ref(target.ref),
                email=email,
            )
        )
        for reason in target.reasons:
            lines.append(Content.from_markup("      [dim]$r[/]", r=shorten_refs(reason)))
    for item in unpaged:  # defined twice, or an owner the catalog does not hold
        lines.append(
            Content.from_markup(
                "  [$warning]⚠ nobody paged for $ref[/]: $why",
                ref=short_ref(item.ref),
                why=shorten_refs(item.reason),
            )
        )
    return Content("\n").join(lines)


class PeoplePanel(Vertical):
    """One line per widget, its indent as padding: at 80 columns a long reason wraps under
    itself, not at the margin."""

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = text
        self._plain = text

    def compose(self) -> ComposeResult:
        yield Static(Content(self._initial), classes="people-line")

    @property
    def text(self) -> str:
        return self._plain

    def update(self, text: str | Content) -> None:
        content = text if isinstance(text, Content) else Content(text)
        self._fill([content])

    def show(self, teams: Sequence[Any], page: Sequence[Any], unpaged: Sequence[Any] = ()) -> None:
        self._fill(people_content(teams, page, unpaged).split("\n"))

    def _fill(self, lines: Sequence[Content]) -> None:
        self._plain = "\n".join(line.plain for line in lines)
        widgets = []
        for line in lines:
            indent = len(line.plain) - len(line.plain.lstrip(" "))
            widget = Static(line[indent:], classes="people-line")
            widget.styles.padding = (0, 0, 0, indent)
            widgets.append(widget)
        self.remove_children()
        self.mount_all(widgets)
