"""The version of oncall: the one place it is written (pyproject.toml reads it from here).

Read by `oncall --version` only, so it costs nothing on the app's start-up path.
"""

__version__ = "0.1.0"
