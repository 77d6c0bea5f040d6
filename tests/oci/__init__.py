"""Registry tests: push, pull, login and run pulling, against real registries on loopback."""
