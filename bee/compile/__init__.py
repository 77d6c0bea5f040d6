"""`bee build` and `bee package`: the clang command line, local builds, builds in the builder
container, the builder image, and images that run a stored program.

Imports `bee.elf` (to check what was built), `bee.oci` (to store it) and `bee.errors`; never
`bee.run`, `bee.commands` or `bee.cli`. The Docker SDK is imported only by the functions that
talk to an engine, so local builds work without it. Not on `bee run`'s path.
"""
