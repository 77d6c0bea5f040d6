"""Signatures of programs in cosign's key-based format, made and checked offline.

`payload` is what is signed (cosign's simple signing JSON), `keys` the key files and the crypto,
`envelope` where signatures sit in a registry or the local store (the `.sig` tag's manifest, OCI
1.1 referrers), `verify` the check itself, `policy` which keys each repository needs, `remote`
and `local` fetch and write signatures. `cryptography` (bee's `sign` extra) is imported only when a
key is used.
"""
