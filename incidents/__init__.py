"""The store: incidents, their append-only hash-chained timeline, runs, the step ledger and leases.

SQLite by default, PostgreSQL for teams; the same models and Alembic migrations for both.
Imports nothing of ours. Start at `incidents.store.Store.open(url)`.

- `store`: opening a database; incidents, their lifecycle and the timeline (`Store`)
- `runs`, `ledger`, `leases`: what the runbook engine records (mixed into `Store`)
- `models`: the tables; `migrations/`: their Alembic history, applied by `migrate` on open
- `database`: engines, transactions (`BEGIN IMMEDIATE` on SQLite), driver errors made readable
- `canonical`, `chain`: the exact bytes each event's hash covers, and the walk that checks them
- `lifecycle`: ids, severities, statuses and event kinds, as pure rules
- `records`: the frozen snapshots the store hands out (`Incident`, `Event`)
- `errors`: `StoreError` and its subclasses, each one clear message for the CLI
"""
