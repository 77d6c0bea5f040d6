"""`bee run`: load programs, attach them, and turn their maps into metrics and event logs.

One module per stage, in pipeline order: `source` (file or store) → `prepare` (spec, checks, and
`fixups`; no kernel) → `load` (privileges, the load thread, `btfcache`) → `attach` (by program kind,
pinning) → `outputs` (one per tracked map, from a table) → `readers` (ring-buffer loop, hash-map
poller). `program.ProgramRun` carries one program through these; `lineup` names the programs of a
run and keeps their states, `starting` applies each step to all of them; `runner.Runner` composes
them for any number of programs, with the metrics `endpoint` and `signals`. `start` is the command's
entry.

This package is on `bee run`'s start-up path: see docs/dev/startup.md for what it may import.
"""
