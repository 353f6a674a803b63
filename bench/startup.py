"""Time to first paint of `oncall` on the demo, against a bare Textual hello-world, same run.

    python bench/startup.py [--rounds N]

Each measurement is a fresh interpreter (start-up is mostly imports, so a warm process would
lie). The parent notes the wall clock, starts the child, and the child reports how long after
that moment its first frame was painted — and, for oncall, when the incident list was filled
from the store (the catalog and store open in workers after the first paint). The two apps are
measured alternately in the same run, so machine load affects both alike. Target: the demo's
first paint within 2x the hello-world's.

Three rows: the hello-world; the app alone (`tui.app`, what `run_app` does); and the app as the
`oncall` console script starts it (`tui.cli` imported first: Typer and every command module).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0
KINDS = ("hello", "app", "cli")


# --- the child: one measurement --------------------------------------------------------------


def probe(kind: str, t0: float, workspace: Path | None) -> dict[str, float]:
    """Runs in the child. Seconds from the parent's `t0` to: imports done, first paint, and
    (oncall) the incident list filled."""
    marks: dict[str, float] = {}
    from textual.app import App, ComposeResult
    from textual.pilot import Pilot
    from textual.widgets import Static

    if kind == "hello":

        class Hello(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("Hello, world")

        app: App[None] = Hello()
    else:
        if kind == "cli":
            import tui.cli  # noqa: F401  (what the console script imports before the app)
        from tui.app import OncallApp
        from tui.context import AppContext

        app = OncallApp(AppContext(workspace_arg=workspace, as_user="ana.lima"))
    marks["imported_s"] = time.time() - t0

    # The first frame handed to the terminal driver: `App._display` with something to show.
    display = app._display

    def first_display(screen: Any, renderable: Any) -> None:
        if renderable is not None and "first_paint_s" not in marks:
            marks["first_paint_s"] = time.time() - t0
        display(screen, renderable)

    app._display = first_display  # type: ignore[method-assign]

    async def pilot(driver: Pilot[None]) -> None:
        while "first_paint_s" not in marks:
            await asyncio.sleep(0.001)
        if kind != "hello":
            from tui.widgets.incident_table import IncidentTable

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                tables = driver.app.screen.query(IncidentTable)
                if tables and tables.first().row_count:
                    marks["incidents_shown_s"] = time.time() - t0
                    break
                await driver.pause(0.005)
        driver.app.exit()

    app.run(headless=True, size=(80, 24), auto_pilot=pilot)
    return marks


# --- the parent: the table -------------------------------------------------------------------


def demo_workspace(directory: Path) -> Path:
    """`oncall demo init` + `oncall demo break`, so the incident list has something to show."""
    from demo import break_workspace, init_workspace
    from incidents.store import Store
    from tui.workspace import open_workspace

    root = init_workspace(directory / "demo", now=datetime.now(UTC))
    store = Store.open(open_workspace(root).database_url)
    try:
        break_workspace(root, store)
    finally:
        store.close()
    return root


def measure(kind: str, workspace: Path) -> dict[str, float]:
    t0 = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--probe", kind, repr(t0), str(workspace)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"probe {kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/startup.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON too")
    parser.add_argument(
        "--probe", nargs=3, metavar=("KIND", "T0", "WORKSPACE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.probe:
        kind, t0, workspace = args.probe
        sys.stdout.write(json.dumps(probe(kind, float(t0), Path(workspace))) + "\n")
        return 0

    with tempfile.TemporaryDirectory(prefix="oncall-startup-") as tmp:
        workspace = demo_workspace(Path(tmp))
        measure("app", workspace)  # warm the OS file cache and the catalog cache once
        results: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
        for _ in range(args.rounds):
            for kind in KINDS:
                results[kind].append(measure(kind, workspace))
    print_table(results, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
    hello = statistics.median(r["first_paint_s"] for r in results["hello"])
    ours = statistics.median(r["first_paint_s"] for r in results["cli"])
    return 0 if ours <= TARGET_RATIO * hello else 1


def _median(rows: list[dict[str, float]], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def print_table(results: dict[str, list[dict[str, Any]]], rounds: int) -> None:
    hello = _median(results["hello"], "first_paint_s") or float("nan")
    labels = {
        "hello": "bare Textual hello-world",
        "app": "oncall app (tui.app), demo",
        "cli": "oncall console script (tui.cli), demo",
    }
    header = f"{'what':<40} {'imports':>9} {'1st paint':>10} {'min':>8} {'x hello':>8} {'list':>8}"
    print(f"Time to first paint, median of {rounds} fresh processes each (seconds)")
    print(header)
    print("-" * len(header))
    for kind in KINDS:
        rows = results[kind]
        paint = _median(rows, "first_paint_s") or float("nan")
        imports = _median(rows, "imported_s") or float("nan")
        fastest = min(r["first_paint_s"] for r in rows)
        listed = _median(rows, "incidents_shown_s")
        listed_text = f"{listed:8.3f}" if listed is not None else f"{'—':>8}"
        print(
            f"{labels[kind]:<40} {imports:9.3f} {paint:10.3f} {fastest:8.3f} "
            f"{paint / hello:7.2f}x {listed_text}"
        )
    ours = _median(results["cli"], "first_paint_s") or float("nan")
    verdict = "PASS" if ours <= TARGET_RATIO * hello else "FAIL"
    print(
        f"\n{verdict}: the console script paints in {ours / hello:.2f}x the hello-world's time "
        f"(target ≤ {TARGET_RATIO:.0f}x). 'list' is when the incident list was filled from the "
        "store (after the first paint: the store and catalog open in workers)."
    )


if __name__ == "__main__":
    raise SystemExit(main())
