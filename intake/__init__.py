"""`oncall serve`: the HTTP intake for Alertmanager webhooks and OpenLineage events.

Only this package imports the ASGI stack (Starlette, uvicorn, prometheus-client), and only in
`intake.app` and `intake.server`; the domain modules (`alerts`, `lineage`, `auth`) are plain
functions over the store and the catalog, tested without HTTP.
"""
