"""The workspace: the directory a team keeps in git, described by `oncall.toml`.

`config` (the schema of `oncall.toml`), `model` (a located workspace, its paths, connections and
operator), `discovery` (finding one). The other packages take plain values (paths, URLs, dicts)
and never read settings themselves; `workspace` imports `graph` at most.
"""
