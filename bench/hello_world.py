"""The baseline of the first-paint benchmark: the smallest Textual app there is.

Run as a script (`python bench/hello_world.py`) so its process imports Textual and nothing of
ours; whatever it costs to start Python, import Textual and paint one screen is the floor every
Textual app pays, and `bench/startup.py` measures `oncall` against it.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

GREETING = "Hello, world"


class HelloWorld(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(GREETING)


if __name__ == "__main__":
    HelloWorld().run()
