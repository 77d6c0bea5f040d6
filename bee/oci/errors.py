"""The failures of talking to registries: all are `BeeError`s, so `bee` prints them as one line.

Each message names the registry, repository or reference involved and what the user can do.
"""

from __future__ import annotations

from bee.errors import BeeError


class RegistryError(BeeError):
    """A registry could not be reached, or answered something bee cannot use."""


class RegistryAuthError(RegistryError):
    """The registry wants credentials bee does not have, or refused the ones it sent."""


class RegistryNotFoundError(RegistryError):
    """The registry has no such repository, tag, digest or blob (or hides it: GHCR's 403)."""


class IntegrityError(RegistryError):
    """Content from a registry does not match its digest or size, or exceeds bee's size limits."""


class UnsupportedArtifactError(RegistryError):
    """A manifest is not a Bumblebee program (a container image, an unknown media type)."""


class CredentialsError(BeeError):
    """A credentials file or helper could not be read or written."""


class SignatureError(BeeError):
    """A signature is missing, does not verify, or a key or policy file cannot be used."""
