"""Who may run a destructive step: an owner of every asset it changes, or whoever is on call for
it now. Anyone else needs break-glass: a written reason that goes on the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from graph.errors import GraphError
from graph.queries import is_owner_or_on_call

if TYPE_CHECKING:
    from graph.model import Catalog


@dataclass(frozen=True)
class Permission:
    allowed: bool
    operator_ref: str | None
    denied_assets: tuple[str, ...]

    def explain(self, operator: str) -> str:
        who = self.operator_ref or f"{operator} (not a catalog user)"
        return (
            f"{who} is neither an owner of nor on call for {', '.join(self.denied_assets)}; "
            "a destructive step needs one of those, or --break-glass REASON"
        )


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
