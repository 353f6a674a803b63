"""Measurements that must run in a fresh process, started by `bench.run`; each prints JSON.

Why a separate process: peak RSS is per process (`ru_maxrss` only grows), and a 1M-asset
catalog should not stay in the runner's memory. Modes:

    python -m bench.probe cli OUT.json -- ARGS...   run `oncall ARGS` in-process, write its peak RSS
    python -m bench.probe queries WORKSPACE          blast radius and fuzzy search, ours vs baselines
    python -m bench.probe parse WORKSPACE            only parse the YAML/JSON (the cold-load floor)

The TUI's first paint is not measured here but by `bench/startup.py`, on a real terminal.
"""

from __future__ import annotations

import argparse
import atexit
import json
import resource
import runpy
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(call: Callable[[], T], repeats: int) -> tuple[list[float], T]:
    """Wall seconds of each of `repeats` calls, and the last call's result."""
    times: list[float] = []
    result: T
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return times, result


def run_cli(out: Path, args: Sequence[str]) -> None:
    """Run the real `oncall` command line in this process, recording peak RSS at exit."""

    def record() -> None:
        out.write_text(json.dumps({"peak_rss_mib": peak_rss_mib()}), encoding="utf-8")

    atexit.register(record)
    sys.argv = ["oncall", *args]
    runpy.run_module("tui.cli", run_name="__main__", alter_sys=True)


def run_parse_floor(workspace_dir: Path) -> dict[str, Any]:
    """Only parse the workspace's files (CSafeLoader YAML, JSON lines): the floor a loader that
    validates, resolves and indexes can approach but not beat."""
    import yaml

    documents = 0
    for path in sorted((workspace_dir / "catalog").rglob("*.yaml")):
        documents += sum(
            1 for _ in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        )
    events = 0
    for path in sorted((workspace_dir / "lineage").rglob("*.ndjson")):
        with path.open(encoding="utf-8") as lines:
            events += sum(1 for line in lines if line.strip() and json.loads(line))
    return {"documents": documents, "events": events, "peak_rss_mib": peak_rss_mib()}


def _keystrokes(query: str) -> list[str]:
    return [query[: i + 1] for i in range(len(query))]


def run_queries(workspace_dir: Path, repeats: int, fuzzy: bool) -> dict[str, Any]:
    """Blast radius from the big source and per-keystroke fuzzy search, with their baselines."""
    from bench.baselines import (
        SqliteEdges,
        networkx_bfs,
        networkx_graph,
        rapidfuzz_extract,
        textual_fuzzy,
    )
    from graph.loader import load_catalog
    from graph.queries import blast_radius, find
    from workspace.discovery import open_workspace

    meta = json.loads((workspace_dir / "bench-meta.json").read_text(encoding="utf-8"))
    workspace = open_workspace(workspace_dir)
    load_times, catalog = timed(
        lambda: load_catalog(
            workspace.catalog_paths, workspace.lineage_paths, cache_dir=workspace.cache_dir
        ),
        1,
    )
    source = catalog.resolve(meta["big_source"]).ref
    result: dict[str, Any] = {
        "load_s": load_times[0],
        "entities": len(catalog.entities),
        "edges": catalog.edge_count,
        "source": source,
    }

    ours_times, affected = timed(lambda: blast_radius(catalog, source), repeats)
    result["blast_radius"] = {"times_s": ours_times, "affected": len(affected)}
    with_paths = sum(1 for a in affected if a.path)
    result["blast_radius"]["with_paths"] = with_paths

    edges = [(s, t) for s, targets in catalog.downstream.items() for t in targets]
    build_start = time.perf_counter()
    digraph = networkx_graph(edges)
    build_s = time.perf_counter() - build_start
    bfs_times, reached = timed(lambda: networkx_bfs(digraph, source), repeats)
    result["networkx_bfs"] = {
        "times_s": bfs_times,
        "affected": len(reached) - 1,
        "build_s": build_s,
    }
    digraph.clear()

    build_start = time.perf_counter()
    sqlite = SqliteEdges(edges)
    build_s = time.perf_counter() - build_start
    cte_times, cte_reached = timed(lambda: sqlite.descendants(source), max(1, repeats // 2))
    sqlite.close()
    result["sqlite_cte"] = {
        "times_s": cte_times,
        "affected": len(cte_reached) - 1,
        "build_s": build_s,
    }

    if fuzzy:
        query = meta["fuzzy_query"]
        keys = _keystrokes(query)
        first_start = time.perf_counter()
        find(catalog, keys[0], limit=20)
        first_call_s = time.perf_counter() - first_start
        rounds: list[list[float]] = []
        for _ in range(3):
            rounds.append([timed(lambda k=k: find(catalog, k, limit=20), 1)[0][0] for k in keys])
        per_key = [statistics.median(r[i] for r in rounds) for i in range(len(keys))]
        names = [entity.name for entity in catalog.entities.values()]
        base = [timed(lambda k=k: textual_fuzzy(names, k, limit=20), 1)[0][0] for k in keys]
        rapid = [timed(lambda k=k: rapidfuzz_extract(names, k, limit=20), 1)[0][0] for k in keys]
        top_ours = [m.ref for m in find(catalog, query, limit=3)]
        top_base = [name for _, name in textual_fuzzy(names, query, limit=3)]
        result["fuzzy"] = {
            "query": query,
            "keystrokes": keys,
            "ours_s": per_key,
            "ours_first_call_s": first_call_s,
            "textual_s": base,
            "rapidfuzz_s": rapid,
            "top_rapidfuzz": [name for name, _, _ in rapidfuzz_extract(names, query, limit=3)],
            "candidates": len(names),
            "top_ours": top_ours,
            "top_textual": top_base,
        }
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    modes = parser.add_subparsers(dest="mode", required=True)
    cli = modes.add_parser("cli", help="run oncall in-process and record its peak RSS")
    cli.add_argument("out", type=Path)
    cli.add_argument("args", nargs=argparse.REMAINDER)
    queries = modes.add_parser("queries", help="blast radius and fuzzy search vs baselines")
    queries.add_argument("workspace", type=Path)
    queries.add_argument("--repeats", type=int, default=5)
    queries.add_argument("--no-fuzzy", action="store_true")
    floor = modes.add_parser("parse", help="only parse the workspace's YAML and JSON")
    floor.add_argument("workspace", type=Path)
    args = parser.parse_args(argv)

    if args.mode == "cli":
        cli_args = args.args[1:] if args.args[:1] == ["--"] else args.args
        run_cli(args.out, cli_args)
        return 0
    if args.mode == "queries":
        report = run_queries(args.workspace, args.repeats, not args.no_fuzzy)
    else:
        report = run_parse_floor(args.workspace)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
