"""Real OCI registries for the distribution tests: Debian's docker-registry on loopback, and its helpers."""
