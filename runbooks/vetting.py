"""Vetting: the record that a reviewer read this exact runbook file, and the check against it.

`runbooks.lock` (YAML, beside `oncall.toml`) holds one entry per runbook id:

    # runbooks.lock: written by `oncall runbook vet FILE --reviewer REF`; do not edit by hand.
    runbooks:
      training-store-partial-load:
        version: 3
        sha256: 9f2c…            # of the file's bytes as UTF-8 text
        file: runbooks/training-store-partial-load.yaml
        reviewer: user:default/ana
        vetted_at: '2024-06-09T08:00:00+00:00'
        vetted_by: alice@laptop-a        # the OS user and host that ran `vet`
        scripts:                         # every workspace file a `command` step runs
          bin/nightly_etl.py: 4be1…

A runbook is `vetted` when its id, version and sha256 match its entry and every script it runs
still has the recorded sha256, `changed` when the entry exists but the file, the version or a
script differs, and `unlisted` without an entry. Only a vetted runbook
executes; any other can be read and dry-run. A reviewer may not vet a file they last changed:
when git knows the file's last author (or the local git user, for uncommitted edits) and that
person is the reviewer, vetting is refused.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from graph.errors import AssetNotFound, GraphError
from runbooks.errors import VettingError
from runbooks.leasing import machine_name
from runbooks.schema import Runbook, load_runbook
from runbooks.templating import is_templated

if TYPE_CHECKING:
    from graph.model import Catalog

VetState = Literal["vetted", "changed", "unlisted"]
LOCK_HEADER = (
    "# runbooks.lock: the vetting record, written by `oncall runbook vet FILE --reviewer REF`.\n"
    "# One entry per runbook id: version, sha256 of the file, reviewer, time. Do not edit by hand:\n"
    "# a runbook whose file no longer matches its entry is unvetted (readable, dry-run only).\n"
)


class NotVetted(VettingError):
    """A runbook that is not vetted was asked to execute."""


@dataclass(frozen=True)
class LockEntry:
    id: str
    version: int
    sha256: str
    file: str
    reviewer: str
    vetted_at: str
    #: Who ran `vet`: the OS user and host (`alice@laptop-a`), beside the catalog reviewer.
    vetted_by: str | None = None
    #: sha256 of every workspace file the runbook's `command` steps run, by workspace path.
    scripts: dict[str, str] = field(default_factory=dict)
    #: The workspace the lock belongs to (where `scripts` are); not written.
    root: Path | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "sha256": self.sha256,
            "file": self.file,
            "reviewer": self.reviewer,
            "vetted_at": self.vetted_at,
        }
        if self.vetted_by:
            data["vetted_by"] = self.vetted_by
        if self.scripts:
            data["scripts"] = dict(sorted(self.scripts.items()))
        return data

    def changed_scripts(self) -> list[str]:
        """The recorded scripts whose file is now different or gone."""
        if self.root is None:
            return sorted(self.scripts)
        return [p for p, sha in sorted(self.scripts.items()) if _sha_of(self.root / p) != sha]


@dataclass(frozen=True)
class GitAuthor:
    name: str
    email: str


def read_lock(lock_file: Path) -> dict[str, LockEntry]:
    """Entries by runbook id; a missing lock file is an empty record."""
    if not lock_file.exists():
        return {}
    try:
        data = yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{lock_file}:{mark.line + 1}" if mark else str(lock_file)
        raise VettingError(f"{where}: invalid YAML: {exc}") from exc
    entries = data.get("runbooks") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise VettingError(f"{lock_file}: expected a top-level 'runbooks' mapping")
    result: dict[str, LockEntry] = {}
    for runbook_id, raw in entries.items():
        try:
            result[str(runbook_id)] = LockEntry(
                id=str(runbook_id),
                version=int(raw["version"]),
                sha256=str(raw["sha256"]),
                file=str(raw.get("file", "")),
                reviewer=str(raw["reviewer"]),
                vetted_at=str(raw["vetted_at"]),
                vetted_by=str(raw["vetted_by"]) if raw.get("vetted_by") else None,
                scripts={str(k): str(v) for k, v in (raw.get("scripts") or {}).items()},
                root=lock_file.parent,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VettingError(
                f"{lock_file}: entry {runbook_id!r} needs version, sha256, reviewer, vetted_at"
            ) from exc
    return result


def write_lock(lock_file: Path, entries: dict[str, LockEntry]) -> None:
    """Write the whole record atomically (a reader never sees half a file)."""
    body = {"runbooks": {k: entries[k].as_dict() for k in sorted(entries)}}
    text = LOCK_HEADER + yaml.safe_dump(body, sort_keys=False, default_flow_style=False)
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".runbooks.lock.", dir=lock_file.parent)
    except OSError as exc:  # a read-only workspace: say so in one line, change nothing
        raise VettingError(
            f"read-only: nothing was changed ({lock_file} cannot be written: {exc.strerror or exc})"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, _file_mode(lock_file))  # mkstemp makes it private; the lock is shared
        os.replace(tmp, lock_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def vet_state(runbook: Runbook, entries: dict[str, LockEntry]) -> VetState:
    entry = entries.get(runbook.id)
    if entry is None:
        return "unlisted"
    if entry.sha256 != runbook.sha256 or entry.version != runbook.version:
        return "changed"
    return "changed" if entry.changed_scripts() else "vetted"


def require_vetted(runbook: Runbook, lock_file: Path) -> LockEntry:
    """The lock entry of a runbook allowed to execute, or NotVetted saying why not."""
    entries = read_lock(lock_file)
    state = vet_state(runbook, entries)
    if state == "vetted":
        return entries[runbook.id]
    if state == "unlisted":
        why = f"it is not in {lock_file.name}"
    else:
        entry = entries[runbook.id]
        scripts = entry.changed_scripts()
        what = f"{', '.join(scripts)}, which it runs," if scripts else str(runbook.path)
        why = (
            f"{what} changed since {entry.reviewer} vetted version {entry.version} "
            f"on {entry.vetted_at}"
        )
    raise NotVetted(
        f"runbook {runbook.id!r} is not vetted ({why}); it can only be dry-run "
        f"(--dry-run) until someone runs `oncall runbook vet {runbook.path} --reviewer REF`"
    )


def vet(
    file: Path,
    reviewer: str,
    lock_file: Path,
    *,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> LockEntry:
    """Record that `reviewer` vetted `file` as it is now; refuse a reviewer who last changed it."""
    runbook = load_runbook(file)
    reviewer_ref, identities = _reviewer_identity(reviewer, catalog)
    author = last_author(file)
    if author is not None and _same_person(author, identities):
        raise VettingError(
            f"{reviewer_ref} last changed {file} (git: {author.name} <{author.email}>); "
            "a runbook needs a reviewer other than its last author"
        )
    entries = read_lock(lock_file)
    try:
        relative = str(file.resolve().relative_to(lock_file.parent.resolve()))
    except ValueError:
        relative = str(file.resolve())
    entry = LockEntry(
        id=runbook.id,
        version=runbook.version,
        sha256=runbook.sha256,
        file=relative,
        reviewer=reviewer_ref,
        vetted_at=(now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        vetted_by=f"{getpass.getuser()}@{machine_name()}",
        scripts=scripts_of(runbook, lock_file.parent),
        root=lock_file.parent,
    )
    entries[runbook.id] = entry
    write_lock(lock_file, entries)
    return entry


def scripts_of(runbook: Runbook, root: Path) -> dict[str, str]:
    """sha256 of every workspace file a `command` action, check or verify of the runbook runs:
    the literal argv entries (and a literal `cwd`) that name a file inside the workspace."""
    found: dict[str, str] = {}
    top = root.resolve()
    for step in runbook.spec.steps:
        for action in (step.action, step.check, step.verify):
            if action is None or action.type != "command":
                continue
            cwd = getattr(action, "cwd", None)
            base = top / cwd if cwd and not is_templated(cwd) else top
            for arg in getattr(action, "argv", []):
                if is_templated(arg) or not arg or arg.startswith("-"):
                    continue
                path = (base / arg).resolve()
                if path.is_relative_to(top) and path.is_file():
                    digest = _sha_of(path)
                    if digest is not None:
                        found[path.relative_to(top).as_posix()] = digest
    return found


def _sha_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _reviewer_identity(reviewer: str, catalog: Catalog | None) -> tuple[str, set[str]]:
    """The reviewer's canonical ref and every string git might know them by (lower case)."""
    if catalog is None:
        return reviewer, {reviewer.lower(), reviewer.rsplit("/", 1)[-1].lower()}
    try:
        entity = catalog.resolve(reviewer)
    except AssetNotFound as exc:  # the resolver speaks of assets; a reviewer is a person
        hint = f"; did you mean: {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        raise VettingError(
            f"--reviewer {reviewer}: no person named {reviewer!r} in the catalog{hint}"
        ) from exc
    except GraphError as exc:
        raise VettingError(f"--reviewer {reviewer}: {exc}") from exc
    if entity.kind != "user":
        raise VettingError(f"--reviewer {reviewer}: {entity.ref} is a {entity.kind}, not a user")
    identities = {entity.ref, entity.name.lower()}
    for attr in ("email", "display_name"):
        value = getattr(entity, attr, None)
        if value:
            identities.add(str(value).lower())
    return entity.ref, identities


def _same_person(author: GitAuthor, identities: set[str]) -> bool:
    email = author.email.lower()
    candidates = {author.name.lower(), email}
    if "@" in email:
        candidates.add(email.split("@", 1)[0])
    return bool(candidates & identities)


def last_author(file: Path) -> GitAuthor | None:
    """Who last changed `file` according to git: the local git user when the file has
    uncommitted changes (or is untracked), else the author of the last commit touching it."""
    directory = file.resolve().parent
    status = _git(directory, "status", "--porcelain", "--", file.name)
    if status is None:
        return None
    if status.strip():
        name = _git(directory, "config", "user.name") or ""
        email = _git(directory, "config", "user.email") or ""
        if name.strip() or email.strip():
            return GitAuthor(name.strip(), email.strip())
        return None
    logged = _git(directory, "log", "-1", "--format=%an%x00%ae", "--", file.name)
    if not logged or "\x00" not in logged:
        return None
    name, email = logged.strip().split("\x00", 1)
    return GitAuthor(name, email)


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout
