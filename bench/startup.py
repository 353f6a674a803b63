"""Time to first paint of `oncall` against a bare Textual hello-world, measured in the same run.

    python bench/startup.py [--rounds N] [--workspace DIR ...] [--json]

The one definition every first-paint number of this repository uses (`python -m bench` calls
`compare` below):

- **From process start**: the parent reads its clock, then spawns a fresh process — the real
  `oncall` console script on the workspace (`oncall -w DIR`, as an operator types it), or
  `bench/hello_world.py` for the baseline. Interpreter start, every import and the app's own
  start-up are inside the number, as the operator waits through all of them.
- **To the first frame of the screen that matters**: the child runs on a pseudo-terminal of 80x24
  with Textual's real driver (not headless, nothing patched), and the parent reads the terminal
  output until the text only that screen shows arrives: the incidents screen's title for
  `oncall`, the greeting for the hello-world. That is the moment a person would see it.
- Whatever the app does in the background (opening the store, loading the catalog in workers)
  runs as it does for a user; if it delayed the frame, the number shows it. The `list` column is
  when the incident list read from the store is on screen too, for information.
- Each measurement is a fresh process; the programs are measured alternately (the starting one
  rotates every round) after one unrecorded warm-up each (OS file cache, byte-code, the
  catalog cache and the store's migrations: the state of the second start of the day), and the
  median of the rounds is reported. Target: `oncall` within 2x the hello-world's median.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELLO_WORLD = Path(__file__).resolve().with_name("hello_world.py")
TARGET_RATIO = 2.0
SCREEN_SIZE = (80, 24)  # columns, rows: the smallest terminal the app promises to work in
DEFAULT_ROUNDS = 7
TIMEOUT_S = 60.0
QUIT_KEY = b"\x11"  # ctrl+q: quits the hello-world (Textual's default) and oncall alike
HELLO_LABEL = "hello-world"


class StartupError(Exception):
    """A program did not show its screen; the message carries what its terminal showed."""


@dataclass(frozen=True)
class Launch:
    """A program to start and how to recognise, in its terminal output, that it is up."""

    label: str
    argv: list[str]
    first_frame: bytes  # text only the wanted screen shows: its first frame has arrived
    ready: bytes | None = None  # text that shows the screen's data has arrived too
    failure: bytes | None = None  # text that shows the data will not arrive


@dataclass(frozen=True)
class Paint:
    """Seconds from spawning the process to its first frame, and to its data on screen."""

    first_paint_s: float
    ready_s: float | None = None


def oncall_command() -> list[str]:
    """The `oncall` console script installed beside this interpreter, or what it runs."""
    script = Path(sys.executable).with_name("oncall")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]


def hello_world() -> Launch:
    return Launch(HELLO_LABEL, [sys.executable, str(HELLO_WORLD)], b"Hello, world")


def oncall(label: str, workspace: Path) -> Launch:
    """The real app on `workspace`, up when its incidents screen is painted."""
    return Launch(
        label,
        [*oncall_command(), "-w", str(workspace)],
        first_frame="▸ Incidents".encode(),  # the title bar: "oncall ▸ Incidents"
        ready=b" incidents (",  # the heading once the list is read: "Open incidents (3)"
        failure=b"Incidents (not loaded)",
    )


def launch_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured process: a common terminal, no workspace from outside."""
    env = dict(os.environ if base is None else base)
    env["TERM"] = "xterm-256color"
    env.pop("ONCALL_WORKSPACE", None)
    for name in [n for n in env if n.startswith("TEXTUAL_")]:
        env.pop(name)  # devtools, screenshots and the like change what is measured
    return env


# --- one measurement ---------------------------------------------------------------------------

_ESCAPES = re.compile(rb"\x1b(\[[0-9;?$>=<]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B]|.)")


def terminal_text(output: bytes, limit: int = 1500) -> str:
    """The end of a terminal stream as plain text, for error messages."""
    text = _ESCAPES.sub(b" ", output).decode("utf-8", errors="replace")
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return text[-limit:]


def time_launch(
    launch: Launch,
    *,
    env: Mapping[str, str] | None = None,
    size: tuple[int, int] = SCREEN_SIZE,
    timeout_s: float = TIMEOUT_S,
) -> Paint:
    """Start `launch` on a fresh pseudo-terminal and time its first frame (and data)."""
    master, slave = pty.openpty()
    columns, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    start = time.perf_counter()
    process = subprocess.Popen(
        launch.argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=REPO,
        env=launch_env(env),
        start_new_session=True,  # its own session: our terminal's signals are not its
    )
    os.close(slave)
    output = bytearray()
    first: float | None = None
    ready: float | None = None
    failed = False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            chunk = _read(master, 0.05)
            if chunk is None:  # the terminal closed: the process has gone
                break
            if not chunk:
                if process.poll() is not None:
                    break
                continue
            now = time.perf_counter() - start
            output += chunk
            if first is None and launch.first_frame in output:
                first = now
            if first is not None and ready is None and launch.ready and launch.ready in output:
                ready = now
            if launch.failure is not None and launch.failure in output:
                failed = True
                break
            if first is not None and (launch.ready is None or ready is not None):
                break
    finally:
        _quit(process, master)
    if first is None or failed:
        what = "showed a problem" if failed else "never showed its screen"
        code = f" (exit {process.returncode})" if process.returncode else ""
        raise StartupError(f"{launch.label} {what}{code}:\n{terminal_text(bytes(output))}")
    if launch.ready is not None and ready is None:
        raise StartupError(f"{launch.label} painted but its data never arrived")
    return Paint(first, ready)


def _read(master: int, wait_s: float) -> bytes | None:
    """What the child wrote within `wait_s` (b"" for nothing yet), None once it closed."""
    readable, _, _ = select.select([master], [], [], wait_s)
    if not readable:
        return b""
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: every copy of the terminal's other end is closed
        return None
    return data or None


def _quit(process: subprocess.Popen[bytes], master: int) -> None:
    """Press ctrl+q and let the app restore the terminal; kill it if it will not go."""
    try:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                os.write(master, QUIT_KEY)
            deadline = time.monotonic() + 10
            while process.poll() is None and time.monotonic() < deadline:
                if _read(master, 0.05) is None:  # keep reading: a full terminal blocks it
                    break
            if process.poll() is None:
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        os.close(master)


# --- the comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The medians of one program's rounds."""

    label: str
    first_paint_s: float
    fastest_s: float
    ready_s: float | None
    runs: list[Paint]


def compare(
    launches: Sequence[Launch],
    rounds: int = DEFAULT_ROUNDS,
    *,
    env: Mapping[str, str] | None = None,
    progress: bool = False,
) -> dict[str, Summary]:
    """Every launch `rounds` times, alternated (the first one rotates each round), after one
    unrecorded warm-up each; summaries by label, in the order given."""
    runs: dict[str, list[Paint]] = {launch.label: [] for launch in launches}
    for launch in launches:
        _say(progress, f"warm-up: {launch.label}")
        time_launch(launch, env=env)
    for round_number in range(rounds):
        shift = round_number % len(launches)
        for launch in [*launches[shift:], *launches[:shift]]:
            runs[launch.label].append(time_launch(launch, env=env))
        _say(progress, f"round {round_number + 1}/{rounds}")
    return {label: summarize(label, paints) for label, paints in runs.items()}


def summarize(label: str, paints: Sequence[Paint]) -> Summary:
    readies = [p.ready_s for p in paints if p.ready_s is not None]
    return Summary(
        label,
        statistics.median(p.first_paint_s for p in paints),
        min(p.first_paint_s for p in paints),
        statistics.median(readies) if readies else None,
        list(paints),
    )


def _say(enabled: bool, message: str) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


# --- the command -------------------------------------------------------------------------------


def demo_workspace(directory: Path) -> Path:
    """`oncall demo init` + `oncall demo break` in `directory`: the demo as an operator finds
    it on the weekend of the incident, with an open incident for the list to show."""
    from demo import break_workspace, init_workspace
    from incidents.store import Store
    from workspace.discovery import open_workspace

    root = init_workspace(directory / "demo", now=datetime.now(UTC))
    store = Store.open(open_workspace(root).database_url)
    try:
        break_workspace(root, store)
    finally:
        store.close()
    return root


def render(summaries: Mapping[str, Summary], rounds: int) -> str:
    hello = summaries[HELLO_LABEL].first_paint_s
    width = max(len(label) for label in summaries)
    header = f"{'program':<{width}} {'1st paint':>10} {'fastest':>9} {'x hello':>8} {'list':>8}"
    lines = [
        f"Time to first paint at {SCREEN_SIZE[0]}x{SCREEN_SIZE[1]}, seconds from process start, "
        f"median of {rounds} fresh processes each",
        header,
        "-" * len(header),
    ]
    for summary in summaries.values():
        shown = "—" if summary.ready_s is None else f"{summary.ready_s:.3f}"
        lines.append(
            f"{summary.label:<{width}} {summary.first_paint_s:10.3f} {summary.fastest_s:9.3f} "
            f"{summary.first_paint_s / hello:7.2f}x {shown:>8}"
        )
    return "\n".join(lines)


def within_target(summaries: Mapping[str, Summary]) -> bool:
    hello = summaries[HELLO_LABEL].first_paint_s
    return all(s.first_paint_s <= TARGET_RATIO * hello for s in summaries.values())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/startup.py", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument(
        "--workspace",
        type=Path,
        action="append",
        default=[],
        help="also measure oncall on this workspace (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON too")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="oncall-startup-") as tmp:
        launches = [hello_world(), oncall("oncall, demo", demo_workspace(Path(tmp)))]
        launches += [oncall(f"oncall, {ws.name}", ws.resolve()) for ws in args.workspace]
        summaries = compare(launches, args.rounds, progress=True)
    print(render(summaries, args.rounds))
    verdict = within_target(summaries)
    print(
        f"\n{'PASS' if verdict else 'FAIL'}: target ≤ {TARGET_RATIO:g}x the hello-world's first "
        "paint. 'list' is when the incident list read from the store was on screen too."
    )
    if args.json:
        print(json.dumps({label: asdict(s) for label, s in summaries.items()}, indent=2))
    return 0 if verdict else 1


if __name__ == "__main__":
    if str(REPO) not in sys.path:  # run as a script: the demo and tui packages live here
        sys.path.insert(0, str(REPO))
    raise SystemExit(main())
