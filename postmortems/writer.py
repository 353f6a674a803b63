"""Writing a rendered draft to `postmortems/YYYY-MM-DD-<slug>.md` without ever losing a person's edits.

The rule, exactly:

1. Every file this module writes ends with one marker line,
   `<!-- oncall-postmortem incident=INC-7 sha256=<hex> -->`, where the hash is the SHA-256 of
   everything before that line. A file whose marker is missing, or whose hash no longer matches,
   has been edited by a person (or was never ours).
2. The draft goes to the first of `NAME.md`, `NAME-2.md`, `NAME-3.md`, … that either does not
   exist or is an unedited draft of the same incident (which is then replaced: regenerating an
   untouched draft changes nothing anyone wrote). An edited file, or any other incident's draft,
   is never touched.
3. `force=True` writes `NAME.md` itself, edited or not: the operator asked to regenerate it.

Files are written to a temporary name and moved into place, and a new file is created with a
hard link that fails if the name was taken meanwhile, so two people generating at once never
overwrite each other either.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from postmortems.errors import PostmortemError

MARKER_PREFIX = "<!-- oncall-postmortem"
_MARKER = re.compile(
    r"\n<!-- oncall-postmortem incident=(?P<incident>\S+) sha256=(?P<sha>[0-9a-f]{64}) -->\n?\Z"
)
MAX_SLUG = 60
MAX_CANDIDATES = 999


class WriteError(PostmortemError):
    """The draft could not be written; names the path."""


@dataclass(frozen=True, slots=True)
class FileState:
    """What is at a path now, as far as overwriting is concerned."""

    kind: Literal["absent", "draft", "edited"]
    incident: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Where the draft went and what happened to what was there."""

    path: Path
    action: Literal["created", "replaced-draft", "forced"]
    skipped: tuple[Path, ...] = ()


def slugify(title: str, fallback: str) -> str:
    """A file-name-safe slug: ASCII letters, digits and dashes, at most 60 chars, cut at a dash."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        cut = slug[:MAX_SLUG]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    slug = slug.strip("-")
    return slug or re.sub(r"[^a-z0-9]+", "-", fallback.lower()).strip("-") or "incident"


def draft_filename(incident_date: date, title: str, incident_id: str) -> str:
    """`YYYY-MM-DD-<slug>.md` for the incident's (UTC) date and title."""
    return f"{incident_date:%Y-%m-%d}-{slugify(title, incident_id)}.md"


def stamp(markdown: str, incident_id: str) -> str:
    """`markdown` with the marker line that lets a later run tell an untouched draft."""
    body = markdown.rstrip("\n") + "\n"
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{body}\n{MARKER_PREFIX} incident={incident_id} sha256={digest} -->\n"


def inspect(path: Path) -> FileState:
    """Whether `path` is absent, an untouched draft (and whose), or something a person edited."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return FileState("absent")
    except IsADirectoryError as exc:
        raise WriteError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise WriteError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FileState("edited")
    match = _MARKER.search(text)
    if match is None:
        return FileState("edited")
    body = text[: match.start()]
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != match.group("sha"):
        return FileState("edited", match.group("incident"))
    return FileState("draft", match.group("incident"))


def _numbered(base: Path, n: int) -> Path:
    return base if n == 1 else base.with_name(f"{base.stem}-{n}{base.suffix}")


def _write_temp(directory: Path, content: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=".postmortem-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _claim(tmp: Path, candidate: Path, content: str) -> bool:
    """Create `candidate` only if nothing is there; False when the name was taken meanwhile."""
    try:
        os.link(tmp, candidate)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system: exclusive create instead
        pass
    try:
        with candidate.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        return True
    except FileExistsError:
        return False


_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def _write_error(where: Path, what: str, exc: OSError) -> WriteError:
    """One line; a folder that cannot be written (a read-only mount, no permission) says so as
    every other read-only refusal does, and how to get the draft anyway."""
    if exc.errno in _READ_ONLY_ERRNOS:
        return WriteError(
            f"read-only: nothing was written ({where}: {what}: "
            f"{exc.strerror or exc}); print the draft with --out - or write it elsewhere "
            "with --out FILE"
        )
    return WriteError(f"{where}: {what}: {exc.strerror or exc}")


def write_draft(markdown: str, base: Path, incident_id: str, *, force: bool = False) -> WriteResult:
    """Write `markdown` (stamped) at `base` or the first free `-N` name, per the module rule."""
    content = stamp(markdown, incident_id)
    directory = base.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(directory, "cannot create directory", exc) from exc
    try:
        tmp = _write_temp(directory, content)
    except OSError as exc:
        raise _write_error(directory, "cannot write", exc) from exc
    try:
        if force:
            if base.is_dir():
                raise WriteError(f"{base}: is a directory")
            os.replace(tmp, base)
            return WriteResult(base, "forced")
        skipped: list[Path] = []
        for n in range(1, MAX_CANDIDATES + 1):
            candidate = _numbered(base, n)
            state = inspect(candidate)
            if state.kind == "absent":
                if _claim(tmp, candidate, content):
                    return WriteResult(candidate, "created", tuple(skipped))
                state = inspect(candidate)  # someone took the name meanwhile: look again
            if state.kind == "draft" and state.incident == incident_id:
                os.replace(tmp, candidate)
                return WriteResult(candidate, "replaced-draft", tuple(skipped))
            skipped.append(candidate)
        raise WriteError(
            f"{base}: {MAX_CANDIDATES} edited files already use this name; use --out or --force"
        )
    except OSError as exc:
        raise _write_error(base, "cannot write", exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
