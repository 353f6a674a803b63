"""What every command module needs the same way: the invocation's context, its store, JSON out.

One place, so every command opens the store the same way (and closes it) and prints JSON the
same way (indented, UTF-8 kept, datetimes and paths as strings).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from incidents.store import Store
    from tui.context import AppContext


def app_context(ctx: typer.Context) -> AppContext:
    """The `AppContext` the root callback put on the Typer context."""
    return ctx.obj  # type: ignore[no-any-return]


@contextmanager
def open_store(ctx: typer.Context) -> Iterator[Store]:
    """The workspace's store for the length of one command."""
    from incidents.canonical import this_origin
    from incidents.store import Store

    context = app_context(ctx)
    store = Store.open(context.workspace.database_url)
    store.origin = this_origin(impersonated=context.impersonating)
    try:
        yield store
    finally:
        store.close()


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
