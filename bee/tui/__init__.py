"""The interactive view of `bee run`: one live table per tracked map, grouped by program when several run.

`model`, `filter` and `notices` are plain Python (the reader threads write to the model's bounded
buffers, the runner its lines to `notices`); `app` is the textual application and `session` runs it
beside the kernel work. Only the view's modules (`app`, `session`, `rows`, `widgets`, `sidebar`,
`driver`) import textual, and only a run on a terminal imports them. Imports `bee.sinks` and
`bee.log`; only `bee.run` imports this package.
"""
