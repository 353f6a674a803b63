"""One catalog file's parse as a replayable part: what the readers said about it, in order.

Why: parsing a file (YAML, validation, canonical references) depends only on its text and its
path, while what its entities become (a duplicate of an earlier file's? which Location targets
are followed?) depends on the files before it. So a file is parsed into a `Part` that records
each builder call in order, and the part is replayed into the real `CatalogBuilder` in file
order. That split is what lets issue 16's loader

- parse files in parallel (a process pool over files; results are replayed in file order, so
  problems, duplicates and Location targets come out exactly as a serial load gives them), and
- keep each file's part on disk keyed by its content (`PartCache`), so after one file of a
  large catalog changed only that file is parsed again.

A part is plain picklable data (records, problems, entities) and never a builder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.gcpause import paused_gc
from graph.records import Entity, Problem, Rotation, Severity
from graph.refs import ref_for_field

if TYPE_CHECKING:
    from graph.backstage import LocationTarget
    from graph.builder import Expectation


@dataclass(slots=True)
class EntityRecord:
    """An entity a document defined, with what only applies once the builder accepts it."""

    entity: Entity
    pending: list[Expectation] = field(default_factory=list)
    rotation: Rotation | None = None
    targets: list[LocationTarget] = field(default_factory=list)


Part = list[Problem | EntityRecord]
"""A file's records in the order the readers produced them."""


class Recorder:
    """Stands in for `CatalogBuilder` while one file is read (the calls `graph.backstage`
    makes): everything is recorded, every entity provisionally accepted."""

    def __init__(self) -> None:
        self.part: Part = []
        self._strings: dict[str, str] = {}
        self._canonical: dict[tuple[str, str, str], str] = {}
        self._last: EntityRecord | None = None

    def problem(
        self, severity: Severity, file: str, line: int | None, entity: str | None, message: str
    ) -> None:
        self.part.append(Problem(severity, file, line, entity, message))

    def share(self, ref: str) -> str:
        return self._strings.setdefault(ref, ref)

    def ref_for_field(self, text: str, field: str, namespace: str) -> str:
        key = (text, field, namespace)
        found = self._canonical.get(key)
        if found is None:
            found = self._canonical[key] = self.share(ref_for_field(text, field, namespace))
        return found

    def add_entity(self, entity: Entity) -> bool:
        self._last = EntityRecord(entity)
        self.part.append(self._last)
        return True

    def expect_all(self, expectations: list[Expectation]) -> None:
        assert self._last is not None
        self._last.pending.extend(expectations)

    def add_rotation(self, rotation: Rotation) -> None:
        assert self._last is not None
        self._last.rotation = rotation

    def add_targets(self, targets: list[LocationTarget]) -> None:
        """The Location targets `read_document` returned for the entity it just added."""
        if targets:
            assert self._last is not None
            self._last.targets.extend(targets)


def parse_text(text: str, file: str, strict: bool) -> Part:
    """The part of one catalog file (its text already decoded)."""
    from graph.backstage import read_document
    from graph.yamldocs import YamlFailure, iter_documents

    recorder = Recorder()
    for item in iter_documents(text):
        if isinstance(item, YamlFailure):
            recorder.problem("error", file, item.line, None, item.message)
            break
        data, lines = item
        targets = read_document(data, lines, file, recorder, strict=strict)  # type: ignore[arg-type]
        recorder.add_targets(targets)
    return recorder.part


def parse_to_bytes(job: tuple[str, str, bool]) -> bytes:
    """`parse_text` for a pool worker: the part comes back serialised once, ready for the cache."""
    text, file, strict = job
    with paused_gc():  # a file's documents form no cycles; a pass per 700 nodes is waste
        return dumps(parse_text(text, file, strict))


class PartCache:
    """Parts on disk, one file each, named by what the part depends on: the file's content
    digest, its path as written in records, how it was reached (strict or by a directory
    scan), and the `graph` code that parsed it. Unreadable or foreign entries are misses."""

    def __init__(self, directory: Path, code: str) -> None:
        self.directory = Path(directory)
        self._code = code.encode()

    def key(self, digest: bytes, file: str, strict: bool) -> str:
        hashed = hashlib.blake2b(digest_size=16)
        for piece in (self._code, digest, file.encode(), b"1" if strict else b"0"):
            hashed.update(len(piece).to_bytes(8, "little") + piece)
        return hashed.hexdigest()

    def get(self, key: str) -> bytes | None:
        try:
            return (self.directory / f"{key}.part").read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes) -> None:
        """Write atomically (temp file + rename); a failure only costs a parse next time."""
        temporary: str | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.directory / f"{key}.part")
            temporary = None
        except OSError:
            pass
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def remove(self, key: str) -> None:
        """Drop one part (its file changed and the new part is stored under another key)."""
        with contextlib.suppress(OSError):
            os.unlink(self.directory / f"{key}.part")

    def keep_only(self, keys: set[str]) -> None:
        """Remove parts no longer used (an edited file leaves its old part behind)."""
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.directory):
                if entry.name.endswith(".part") and entry.name[:-5] not in keys:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


_ENTITY_FIELDS = tuple(f.name for f in dataclasses.fields(Entity))


def load_part(data: bytes) -> Part | None:
    """A cached part, or None when it cannot be read back (then the file is parsed again)."""
    try:
        plain = pickle.loads(data)
        part: Part = []
        for item in plain:
            if item[0] == "p":
                part.append(Problem(*item[1:]))
            else:
                _, values, pending, rotation, targets = item
                part.append(EntityRecord(Entity(*values), pending, rotation, targets))
    except Exception:
        return None
    return part


def dumps(part: Part) -> bytes:
    """The part as pickled tuples: entities and problems as their field values, because
    unpickling a slotted dataclass goes through `__setstate__` and cost ten times more (17 s
    for a 100k-entity catalog's parts against a few for tuples)."""
    plain: list[tuple[Any, ...]] = []
    for item in part:
        if isinstance(item, Problem):
            plain.append(("p", item.severity, item.file, item.line, item.entity, item.message))
        else:
            entity = item.entity
            values = tuple(getattr(entity, name) for name in _ENTITY_FIELDS)
            plain.append(("e", values, item.pending, item.rotation, item.targets))
    return pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)


_NO_SPEC: dict[str, Any] = {}
"""The spec of replayed entities without custom fields. The builder's entities never leave it
(`EntityTable.from_entities` keeps only non-empty specs, and a table makes fresh dicts), and
nothing writes into a spec, so sharing one empty dict is safe."""


def reshare(entity: Entity, share: Any) -> None:
    """Make the strings a part brought (from a worker or the disk) the builder's shared ones:
    refs to owners and systems repeat by the thousand, and a million copies cost memory."""
    entity.kind = share(entity.kind)
    if entity.tags:  # a few distinct tag lists, a million copies
        entity.tags = share(entity.tags)
    if not entity.spec:  # most entities have no custom spec field: one empty dict, not 1M
        entity.spec = _NO_SPEC
    entity.namespace = share(entity.namespace)
    entity.file = share(entity.file)
    if entity.owner is not None:
        entity.owner = share(entity.owner)
    if entity.system is not None:
        entity.system = share(entity.system)
    if entity.type is not None:
        entity.type = share(entity.type)
    if entity.lifecycle is not None:
        entity.lifecycle = share(entity.lifecycle)
    if entity.parent is not None:
        entity.parent = share(entity.parent)
    if entity.member_of:
        entity.member_of = tuple(share(ref) for ref in entity.member_of)
    if entity.members:
        entity.members = tuple(share(ref) for ref in entity.members)
