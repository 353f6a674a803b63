"""The baselines each benchmark row is compared with, built over exactly the same data as ours.

Why these: a blast radius is a breadth-first search, so plain networkx BFS is the floor a
graph-library user would get for free, and a recursive CTE is what a team storing lineage in a
database would write; Textual's own `fuzzy.Matcher` is what a Textual app gets for free, and
rapidfuzz's `process.extract` what a team would reach for (the fair one); a bare Textual app
and the CLI's `--help` are the start-up floors nothing of ours can beat.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Sequence

import networkx as nx


def networkx_graph(edges: Iterable[tuple[str, str]]) -> nx.DiGraph:
    """A DiGraph of (source feeds target) edges, nodes being the same refs ours uses."""
    graph = nx.DiGraph()
    graph.add_edges_from(edges)
    return graph


def networkx_bfs(graph: nx.DiGraph, source: str) -> dict[str, int]:
    """Every node downstream of `source` with its hop count (source itself at 0). No paths."""
    return nx.single_source_shortest_path_length(graph, source)


class SqliteEdges:
    """The same edges in an in-memory SQLite table, indexed the way a careful schema would be."""

    QUERY = """
        WITH RECURSIVE reach(node, hops) AS (
            SELECT ?, 0
            UNION
            SELECT e.target, r.hops + 1 FROM edges AS e JOIN reach AS r ON e.source = r.node
        )
        SELECT node, MIN(hops) FROM reach GROUP BY node
    """

    def __init__(self, edges: Iterable[tuple[str, str]]) -> None:
        self.connection = sqlite3.connect(":memory:")
        self.connection.execute(
            "CREATE TABLE edges (source TEXT NOT NULL, target TEXT NOT NULL, "
            "PRIMARY KEY (source, target)) WITHOUT ROWID"
        )
        with self.connection:
            self.connection.executemany("INSERT OR IGNORE INTO edges VALUES (?, ?)", edges)
        self.connection.execute("ANALYZE")

    def descendants(self, source: str) -> dict[str, int]:
        """Like `networkx_bfs`: node -> fewest hops from `source` (source itself at 0)."""
        return dict(self.connection.execute(self.QUERY, (source,)).fetchall())

    def close(self) -> None:
        self.connection.close()


def textual_fuzzy(names: Sequence[str], query: str, limit: int = 20) -> list[tuple[float, str]]:
    """Score every name with Textual's command-palette matcher; the best `limit`, best first.

    A fresh Matcher per keystroke, as the command palette does, so its cache gives no help.
    """
    from textual.fuzzy import Matcher

    matcher = Matcher(query)
    match = matcher.match
    scored = [(score, name) for name in names if (score := match(name)) > 0]
    return heapq.nlargest(limit, scored)


def rapidfuzz_extract(
    names: Sequence[str], query: str, limit: int = 20
) -> list[tuple[str, float, int]]:
    """The best `limit` names by rapidfuzz's `process.extract` (default scorer, WRatio): the
    fair baseline for fuzzy search (issue 16), a C++ library built for exactly this."""
    from rapidfuzz import process

    return process.extract(query, names, limit=limit)
