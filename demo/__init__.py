"""The bundled demo workspace: the weekend incident of DESIGN.md, runnable.

`demo/workspace/` is a complete workspace (oncall.toml, catalog, runbooks); `oncall demo init`
copies it and creates its SQLite databases.
"""
