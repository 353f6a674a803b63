"""The first-paint measurement: real programs on a real pseudo-terminal, no timings asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import startup
from bench.startup import Launch, Paint, StartupError


def _printer(label: str, text: str) -> Launch:
    """A program that writes `text` to its terminal and waits to be told to quit (ctrl+q)."""
    code = (
        "import sys, termios, tty; tty.setraw(0); "
        f"sys.stdout.write({text!r}); sys.stdout.flush(); sys.stdin.read(1)"
    )
    return Launch(label, [sys.executable, "-c", code], text.encode())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return startup.demo_workspace(tmp_path_factory.mktemp("startup"))


def test_the_hello_world_is_seen_when_its_greeting_reaches_the_terminal() -> None:
    paint = startup.time_launch(startup.hello_world())
    assert paint.first_paint_s > 0
    assert paint.ready_s is None


def test_oncall_paints_its_incidents_screen_then_the_list_from_the_store(demo: Path) -> None:
    paint = startup.time_launch(startup.oncall("demo", demo))
    assert paint.ready_s is not None
    assert 0 < paint.first_paint_s <= paint.ready_s


def test_oncall_on_a_missing_workspace_is_an_error_carrying_what_its_screen_said(
    tmp_path: Path,
) -> None:
    with pytest.raises(StartupError) as raised:
        startup.time_launch(startup.oncall("nowhere", tmp_path / "missing"))
    assert "nowhere showed a problem" in str(raised.value)
    assert "Incidents (not loaded)" in str(raised.value)


def test_a_program_that_exits_without_its_screen_is_an_error_with_its_exit_code() -> None:
    code = "import sys; print('oncall: no such thing'); sys.exit(2)"
    launch = Launch("gone", [sys.executable, "-c", code], b"Incidents")
    with pytest.raises(StartupError) as raised:
        startup.time_launch(launch)
    assert "gone never showed its screen (exit 2)" in str(raised.value)
    assert "oncall: no such thing" in str(raised.value)


def test_a_program_showing_its_failure_text_is_an_error_not_a_measurement() -> None:
    launch = _printer("broken", "Incidents (not loaded)")
    failing = Launch(launch.label, launch.argv, b"Incidents", b"incidents (", b"(not loaded)")
    with pytest.raises(StartupError, match="broken showed a problem"):
        startup.time_launch(failing)


def test_every_program_is_measured_each_round_after_a_warm_up() -> None:
    launches = [_printer(startup.HELLO_LABEL, "hi"), _printer("other", "there")]
    summaries = startup.compare(launches, rounds=3)
    assert list(summaries) == [startup.HELLO_LABEL, "other"]
    for summary in summaries.values():
        assert len(summary.runs) == 3
        assert summary.fastest_s <= summary.first_paint_s
    assert "x hello" in startup.render(summaries, 3)


def test_the_target_is_twice_the_hello_worlds_median() -> None:
    def summary(label: str, seconds: float) -> startup.Summary:
        return startup.summarize(label, [Paint(seconds), Paint(seconds + 1), Paint(seconds - 0.05)])

    hello = summary(startup.HELLO_LABEL, 0.1)
    assert startup.within_target({hello.label: hello, "a": summary("a", 0.2)})
    assert not startup.within_target({hello.label: hello, "a": summary("a", 0.21)})


def test_the_terminal_text_of_an_error_has_no_escape_sequences() -> None:
    raw = b"\x1b[?1049h\x1b[1;1H\x1b[38;5;253moncall: no workspace\x1b[0m\r\n\x1b]22;x\x07"
    assert startup.terminal_text(raw) == "oncall: no workspace"
