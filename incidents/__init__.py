"""The store: incidents, their append-only hash-chained timeline, runs, the step ledger and leases.

SQLite by default, PostgreSQL for teams; the same models and Alembic migrations for both.
Imports nothing of ours.
"""
