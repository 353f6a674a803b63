"""Rendering a `PostmortemDraft` to markdown with a Jinja2 template.

Which template: `--template FILE` if given, else the workspace's `templates/postmortem.md.j2` if it
exists, else the one bundled in this package. An override may reuse the bundled one with
`{% extends "oncall/postmortem.md.j2" %}` (or, in the workspace's `postmortem.md.j2`, simply
`{% extends "postmortem.md.j2" %}`) and replace only some of its blocks; other names are looked
up next to the override file.

A template is code a team keeps in git, so a mistake in it is a user error: it is raised as a
`PostmortemError` naming the template file and line, never as a traceback. Undefined names are
errors (`StrictUndefined`) so a typo in an override does not silently leave a section empty.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from postmortems.errors import PostmortemError
from postmortems.markdown import code_span, escape_cell, escape_heading, escape_text
from postmortems.metrics import as_utc, format_duration
from postmortems.model import PostmortemDraft

TEMPLATE_NAME = "postmortem.md.j2"
BUNDLED_PREFIX = "oncall/"


class TemplateFileError(PostmortemError):
    """A template cannot be read, parsed or rendered; the message names its file and line."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """The template that will render the draft, and why it was chosen (shown by `--json`)."""

    path: str
    origin: str  # "option", "workspace" or "bundled"


def bundled_template_path() -> str:
    """A readable name for the bundled template; used in error messages and tracebacks."""
    return str(resources.files("postmortems") / "templates" / TEMPLATE_NAME)


def _read_bundled(name: str) -> str:
    resource = resources.files("postmortems") / "templates" / name
    try:
        return resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise jinja2.TemplateNotFound(BUNDLED_PREFIX + name) from exc


def choose_template(option: Path | None, templates_dir: Path | None) -> TemplateChoice:
    """Apply the override order: `--template`, then the workspace's file, then the bundled one."""
    if option is not None:
        if not option.is_file():
            raise TemplateFileError("no such template file", file=str(option))
        return TemplateChoice(str(option.resolve()), "option")
    if templates_dir is not None:
        candidate = templates_dir / TEMPLATE_NAME
        if candidate.is_file():
            return TemplateChoice(str(candidate.resolve()), "workspace")
    return TemplateChoice(bundled_template_path(), "bundled")


def _utc(value: datetime | None, seconds: bool = True) -> str:
    if value is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return as_utc(value).strftime(fmt)


def ref_name(ref: str) -> str:
    """`component:default/training-db` -> `training-db`: what a person calls the asset."""
    return ref.rsplit("/", 1)[-1].split(":", 1)[-1]


def make_environment(choice: TemplateChoice) -> jinja2.Environment:
    """The Jinja2 environment: strict, no HTML autoescape (markdown), markdown filters."""
    override_dir = None if choice.origin == "bundled" else Path(choice.path).parent

    def load(name: str) -> tuple[str, str, Any]:
        if name.startswith(BUNDLED_PREFIX) or (override_dir is None and name == TEMPLATE_NAME):
            bare = name.removeprefix(BUNDLED_PREFIX)
            source = _read_bundled(bare)
            return source, str(resources.files("postmortems") / "templates" / bare), lambda: True
        if override_dir is None:
            raise jinja2.TemplateNotFound(name)
        path = Path(name) if Path(name).is_absolute() else override_dir / name
        if name != choice.path and path.resolve() == Path(choice.path):
            # The override naming itself (`{% extends "postmortem.md.j2" %}` in the workspace's
            # postmortem.md.j2) means the template it overrides: the bundled one.
            return load(BUNDLED_PREFIX + TEMPLATE_NAME)
        if not path.is_file():
            raise jinja2.TemplateNotFound(name)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateFileError(f"cannot read template: {exc}", file=str(path)) from exc
        mtime = path.stat().st_mtime
        return source, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        text=escape_text,
        cell=escape_cell,
        heading=escape_heading,
        code=code_span,
        code_cell=lambda v: code_span(v, in_table=True),
        utc=_utc,
        duration=format_duration,
        name=ref_name,
    )
    return env


def _template_frame(exc: BaseException, files: set[str]) -> tuple[str, int] | None:
    """The innermost traceback frame that belongs to one of our templates (Jinja2 rewrites
    tracebacks so that template code shows its own file name and line)."""
    found: tuple[str, int] | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in files and frame.lineno is not None:
            found = (frame.filename, frame.lineno)
    return found


_ENVIRONMENTS: dict[TemplateChoice, jinja2.Environment] = {}
_ENVIRONMENTS_LOCK = threading.Lock()


def _environment(choice: TemplateChoice) -> jinja2.Environment:
    """One environment per template choice, kept: Jinja2 compiles a template once per
    environment, and compiling the bundled one cost more than rendering 10,000 timeline rows
    (issue 16). An override file edited since is compiled again (its loader's up-to-date check
    compares the file's mtime), so keeping it never renders a stale template."""
    with _ENVIRONMENTS_LOCK:
        env = _ENVIRONMENTS.get(choice)
        if env is None:
            env = _ENVIRONMENTS[choice] = make_environment(choice)
        return env


def render_markdown(draft: PostmortemDraft, choice: TemplateChoice) -> str:
    """Render `draft` with the chosen template; every failure names the template file and line."""
    env = _environment(choice)
    name = TEMPLATE_NAME if choice.origin == "bundled" else choice.path
    known_files = {choice.path, bundled_template_path()}
    try:
        template = env.get_template(name)
        known_files.add(template.filename or choice.path)
        return template.render(draft=draft, incident=draft.incident)
    except PostmortemError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFileError(
            f"template syntax error: {exc.message}",
            file=exc.filename or choice.path,
            line=exc.lineno,
        ) from exc
    except jinja2.TemplateNotFound as exc:
        where = _template_frame(exc, known_files | _loaded_files(env))
        file, line = where if where else (choice.path, None)
        raise TemplateFileError(f"template {exc.name!r} not found", file=file, line=line) from exc
    except Exception as exc:  # an error raised while the template runs: point at its line
        where = _template_frame(exc, known_files | _loaded_files(env))
        file, line = where if where else (choice.path, None)
        kind = "undefined name" if isinstance(exc, jinja2.UndefinedError) else type(exc).__name__
        raise TemplateFileError(f"template error ({kind}): {exc}", file=file, line=line) from exc


def _loaded_files(env: jinja2.Environment) -> set[str]:
    cache = env.cache or {}
    return {t.filename for t in cache.values() if getattr(t, "filename", None)}
