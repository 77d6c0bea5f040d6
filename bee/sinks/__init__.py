"""Where a run's data goes: Prometheus metrics (registry, exposition, HTTP server), the event
log (text, JSON lines) and event filters.

Imports only `bee.errors`, `bee.records` and `bee.log`: outputs get decoded records from
`bee.run`, never `bee.libbpf` or `bee.decode` objects. On `bee run`'s start-up path
(docs/dev/startup.md).
"""
