"""The operator's own app preferences (the theme), kept in the user config directory.

Per person, not per workspace: the same operator on two workspaces wants the same colours, and
two operators sharing a workspace do not. A missing or unreadable file means the defaults; the
app never fails to start over a preference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PREFERENCES_FILE = "preferences.json"
ENV_CONFIG_DIR = "ONCALL_CONFIG_DIR"


def preferences_path() -> Path:
    """`$ONCALL_CONFIG_DIR/preferences.json`, else the platform's user config dir for oncall."""
    configured = os.environ.get(ENV_CONFIG_DIR)
    if configured:
        return Path(configured) / PREFERENCES_FILE
    import platformdirs

    return Path(platformdirs.user_config_dir("oncall")) / PREFERENCES_FILE


def load_theme() -> str | None:
    """The theme chosen last time, or None (never raises: a preference is not worth a crash)."""
    try:
        data = json.loads(preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) else None


def save_theme(theme: str) -> None:
    """Remember `theme`; a read-only or missing home is ignored (the choice lasts this session)."""
    path = preferences_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data["theme"] = theme
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return
