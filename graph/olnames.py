"""OpenLineage names as catalog refs, and back: a small module of its own so that looking a name
up (`Catalog.resolve`) never imports the lineage reader and its pydantic models.

    dataset:<namespace>/<name>        e.g. dataset:food_delivery/public.menus
    job:<namespace>/<name>            e.g. job:food_delivery/etl_menus

Every ref is lower case, and OpenLineage names are case-sensitive (S3 keys, file paths), so the
parts are percent-encoded, each character as its UTF-8 bytes in `%xx` with lower-case hex:

- in both parts: every upper-case ASCII letter (`A` → `%41`), so `Orders` and `orders` stay two
  assets; `%` itself; whitespace and control characters; every character outside printable ASCII
  (`é` → `%c3%a9`);
- in the namespace, also everything except ASCII letters, digits and `-_.~` (`postgres://db:5432`
  → `postgres%3a%2f%2fdb%3a5432`), because a ref's namespace ends at the first `/`;
- in the name, also `"<>\\^`{|}` (a name may keep `/`: a ref's name is everything after the
  namespace's `/`, so `/warehouse/orders` stays readable).

`lineage_parts` decodes a ref back to the exact namespace and name.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

NAMESPACE_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.~")
NAME_SAFE = NAMESPACE_SAFE | frozenset("/:@!$&'()*+,;=[]?#")
LINEAGE_KINDS: tuple[str, ...] = ("dataset", "job")


def _encode(text: str, safe: frozenset[str]) -> str:
    out = []
    for char in text:
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def lineage_ref(kind: str, namespace: str, name: str) -> str:
    """The canonical ref of an OpenLineage dataset or job (see the module docstring)."""
    return f"{kind}:{_encode(namespace, NAMESPACE_SAFE)}/{_encode(name, NAME_SAFE)}"


def lineage_parts(ref: str) -> tuple[str, str, str]:
    """`lineage_ref`'s inverse: (kind, namespace, name), decoded, in their original case."""
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return kind, unquote(namespace), unquote(name)


def lineage_candidates(text: str) -> Iterator[str]:
    """The refs `text` could mean when an operator pastes an OpenLineage name, as a dataset or a
    job: `namespace/name` split at each `/` (a namespace may hold `/`, as in
    `postgres://db:5432/public.orders`), or the namespace and the name given apart, copied from
    two fields (`postgres://db:5432  public.orders`) or as the event's own JSON
    (`{"namespace": "postgres://db:5432", "name": "public.orders"}`). Cheap (no lookups), and
    only tried after the Backstage reading of `text` found nothing."""
    for namespace, name in _namespace_and_name(text.strip()):
        for kind in LINEAGE_KINDS:
            yield lineage_ref(kind, namespace, name)


def _namespace_and_name(text: str) -> Iterator[tuple[str, str]]:
    if text.startswith("{"):
        pair = _json_pair(text)
        if pair is not None:
            yield pair
        return
    parts = text.split()
    if len(parts) == 2:
        yield parts[0], parts[1]
    for index, char in enumerate(text):
        if char == "/" and 0 < index < len(text) - 1:
            yield text[:index], text[index + 1 :]


def _json_pair(text: str) -> tuple[str, str] | None:
    """`{"namespace": …, "name": …}`, as a dataset or a job appears in an OpenLineage event."""
    import json

    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    namespace, name = found.get("namespace"), found.get("name")
    if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
        return namespace, name
    return None
