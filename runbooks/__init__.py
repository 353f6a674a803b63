"""Vetted, idempotent recovery: runbook schema, vetting, actions, the step engine, ledger and leases."""
