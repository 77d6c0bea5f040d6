"""The click commands of `bee`: each parses its options and calls one function of `bee.compile`,
`bee.oci`, `bee.run`, `bee.scaffold` or `bee.describe`, then prints the result.

The only package that imports click, and only `bee.cli` imports it. `fastparse` and `params` read
a plain `bee run` command line without click and are on `bee run`'s start-up path
(docs/dev/startup.md), so this module imports nothing.
"""
