"""Who may run a destructive step: an owner of every asset it changes, or whoever is on call for
it now. Anyone else needs break-glass: a written reason that goes on the timeline, asked once per
run before its first effect (`BreakGlassRequest`), naming whom to call instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from graph.errors import GraphError
from graph.queries import is_owner_or_on_call, owners

if TYPE_CHECKING:
    from graph.model import Catalog


@dataclass(frozen=True)
class Permission:
    allowed: bool
    operator_ref: str | None
    denied_assets: tuple[str, ...]

    def denial(self, operator: str) -> str:
        """Why not, in words any front end can show (no command-line flag in it)."""
        who = self.operator_ref or f"{operator} (not a catalog user)"
        return f"{who} is neither an owner of nor on call for {', '.join(self.denied_assets)}"

    def explain(self, operator: str) -> str:
        """Why not, and the command line's way past it."""
        return (
            f"{self.denial(operator)}; a destructive step needs one of those, or "
            "--break-glass REASON"
        )


@dataclass(frozen=True)
class Contact:
    """Whom to call about an asset instead of breaking glass: its owner and who is on call."""

    asset: str
    owner: str | None
    on_call: str | None  # "Ben Okafor <ben@example.com>"
    until: datetime | None  # when that person's shift ends

    def line(self) -> str:
        name = self.asset.rpartition("/")[2]
        owner = self.owner.rpartition("/")[2] if self.owner else "no owner in the catalog"
        if self.on_call is None:
            return f"{name}: owned by {owner}; nobody on call for it"
        until = f" until {self.until:%a %H:%M} UTC" if self.until else ""
        return f"{name}: owned by {owner}; on call now: {self.on_call}{until}"


@dataclass(frozen=True)
class BreakGlassRequest:
    """What the operator is asked once per run when they may not run its destructive steps:
    who they are, which assets, whom to call instead, and the rule their reason must meet."""

    operator: str
    permission: Permission
    contacts: tuple[Contact, ...]
    min_reason: int

    def denial(self) -> str:
        return self.permission.denial(self.operator)

    def explain(self) -> str:
        """The command line's wording (with its flag)."""
        return self.permission.explain(self.operator)


def contacts_for(catalog: Catalog | None, assets: Sequence[str], at: datetime) -> list[Contact]:
    """The owner and the person on call now for each asset (`graph.queries.owners`), so a
    refusal names someone to call before anyone breaks glass."""
    found: list[Contact] = []
    for asset in assets:
        try:
            ownership = owners(catalog, asset, at) if catalog is not None else None
        except GraphError:
            ownership = None
        if ownership is None:
            found.append(Contact(asset, None, None, None))
            continue
        on_call = ownership.on_call
        who = None
        if on_call is not None:
            who = on_call.name + (f" <{on_call.email}>" if on_call.email else "")
        elif ownership.owner and ownership.owner.startswith("user:") and ownership.members:
            person = ownership.members[0]
            who = person.name + (f" <{person.email}>" if person.email else "")
        found.append(Contact(asset, ownership.owner, who, on_call.until if on_call else None))
    return found


def operator_ref(catalog: Catalog | None, operator: str) -> str | None:
    """The operator's canonical user ref, or None when the catalog does not know them."""
    if catalog is None:
        return None
    try:
        entity = catalog.resolve(operator)
    except GraphError:
        return None
    return entity.ref if entity.kind == "user" else None


def destructive_permission(
    catalog: Catalog | None, operator: str, assets: Sequence[str], at: datetime
) -> Permission:
    ref = operator_ref(catalog, operator)
    if ref is None or catalog is None:
        return Permission(False, None, tuple(assets))
    denied = tuple(a for a in assets if not is_owner_or_on_call(catalog, ref, a, at))
    return Permission(not denied, ref, denied)
