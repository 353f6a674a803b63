"""Backstage entity references: `[kind:][namespace/]name`, parsed exactly as Backstage parses them.

Why exactly: a team points oncall at the `catalog-info.yaml` files it already keeps for Backstage,
so a reference must mean here what it means there. The rules (Backstage `parseEntityRef`):

- the kind is what stands before the first `:`, unless a `/` comes first (then there is no kind);
- the namespace is what stands between that `:` and the first `/`;
- the name is everything after, and may itself contain `:` or `/`;
- a missing kind takes the default of the field the reference sits in (owner → group, …);
  `dependsOn`/`dependencyOf` have no default, so a bare name there is an error;
- a missing namespace takes the referring entity's namespace, then `default`;
- matching is case-insensitive, so the canonical form is lower case `kind:namespace/name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "default"

# Entity names and namespaces in descriptors (references themselves are not held to this).
NAME_PATTERN = re.compile(r"[a-zA-Z0-9]+(?:[-_.][a-zA-Z0-9]+)*")
NAME_MAX_LENGTH = 63

# Backstage's tag rule: lower-case words joined by single dashes.
TAG_PATTERN = re.compile(r"[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*")
TAG_MAX_LENGTH = 63

_WHITESPACE = re.compile(r"\s")

# The kind a reference takes when it names none, per field. Absent fields have no default.
FIELD_DEFAULT_KINDS: dict[str, str] = {
    "owner": "group",
    "memberOf": "group",
    "members": "user",
    "system": "system",
    "parent": "group",
    "children": "group",
    "domain": "domain",
    "subdomainOf": "domain",
    "subcomponentOf": "component",
    "providesApis": "api",
    "consumesApis": "api",
    # oncall/v1 Rotation fields
    "user": "user",
    "escalation": "user",
}

FIELDS_WITHOUT_DEFAULT_KIND: frozenset[str] = frozenset({"dependsOn", "dependencyOf"})


class RefError(ValueError):
    """A reference that cannot be parsed; the loader turns it into a Problem with file and line."""


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A parsed, lower-cased reference. `str()` gives the canonical `kind:namespace/name`."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


def canonical_ref(kind: str, namespace: str, name: str) -> str:
    """The canonical string form: lower case `kind:namespace/name`."""
    return f"{kind.lower()}:{namespace.lower()}/{name.lower()}"


def split_ref(text: str) -> tuple[str | None, str | None, str]:
    """Split `[kind:][namespace/]name` into its parts as written (no defaults, no case change)."""
    if not isinstance(text, str):
        raise RefError(f"a reference must be a string, not {type(text).__name__}")
    colon = text.find(":")
    slash = text.find("/")
    if slash != -1 and slash < colon:
        colon = -1
    kind = None if colon == -1 else text[:colon]
    namespace = None if slash == -1 else text[colon + 1 : slash]
    name = text[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise RefError(f"reference {text!r} is not of the form [kind:][namespace/]name")
    if _WHITESPACE.search(text):
        raise RefError(f"reference {text!r} contains whitespace")
    return kind, namespace, name


def parse_ref(
    text: str,
    *,
    default_kind: str | None = None,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> EntityRef:
    """Parse a reference, filling a missing kind/namespace from the defaults; lower-cased.

    Raises RefError when the text is malformed or names no kind and there is no default.
    """
    kind, namespace, name = split_ref(text)
    if kind is None:
        if default_kind is None:
            raise RefError(f"reference {text!r} must name its kind (e.g. component:{text})")
        kind = default_kind
    return EntityRef(
        kind.lower(), (namespace or default_namespace or DEFAULT_NAMESPACE).lower(), name.lower()
    )


def ref_for_field(text: str, field: str, referrer_namespace: str = DEFAULT_NAMESPACE) -> str:
    """The canonical ref for `text` found in descriptor field `field` of an entity in a namespace."""
    default_kind = None if field in FIELDS_WITHOUT_DEFAULT_KIND else FIELD_DEFAULT_KINDS.get(field)
    return str(parse_ref(text, default_kind=default_kind, default_namespace=referrer_namespace))


def name_problem(value: object, what: str = "name") -> str | None:
    """Why `value` is not a valid entity name or namespace, or None when it is."""
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    if len(value) > NAME_MAX_LENGTH:
        return f"{what} {value!r} is longer than {NAME_MAX_LENGTH} characters"
    if not NAME_PATTERN.fullmatch(value):
        return (
            f"{what} {value!r} is not valid: use letters and digits, "
            "separated by single '-', '_' or '.'"
        )
    return None


def tag_problem(value: object) -> str | None:
    """Why `value` is not a valid Backstage tag, or None when it is."""
    if not isinstance(value, str):
        return f"tag must be a string, not {type(value).__name__}"
    if len(value) > TAG_MAX_LENGTH or not TAG_PATTERN.fullmatch(value):
        return f"tag {value!r} is not valid: use lower-case words joined by '-'"
    return None
