"""OCI artifacts: references, the local image-layout store (index, manifests, blobs), and
registries (`transfer` and `registry`: push, pull, login over requests), with their credentials.

Imports only `bee.errors`, `bee.records` and `bee.sha256` from bee: never the CLI's options (push,
pull and login read what they need through `transfer.TransferSettings`), nor `bee.run`,
`bee.compile` or `bee.elf`. The store's modules are on `bee run`'s start-up path (docs/dev/startup.md);
`registry` imports requests, so only transfers import it.
"""
