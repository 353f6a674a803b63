"""The intake's Prometheus metrics, in a registry of its own (one per app, so tests and several
apps in one process never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class IntakeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "oncall_intake_requests",
            "HTTP requests, by endpoint and status code.",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "oncall_intake_request_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.alerts = Counter(
            "oncall_intake_alerts",
            "Alerts by what became of them: received, recorded, deduplicated, unmapped, opened "
            "(an incident).",
            ["result"],
            registry=self.registry,
        )
        self.lineage_events = Counter(
            "oncall_intake_lineage_events",
            "OpenLineage events received and stored.",
            ["result"],
            registry=self.registry,
        )
