"""The Authorization header of one `RegistryClient`: Basic, or Bearer tokens from the challenge's realm.

Errors: `RegistryAuthError` (a challenge bee cannot answer, credentials refused), `RegistryNotFoundError`
(a 403 to a pull, which GHCR also gives for an image that does not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from bee.oci.auth import CredentialLookup, Credentials, merge_scopes, parse_www_authenticate
from bee.oci.errors import RegistryAuthError, RegistryError, RegistryNotFoundError
from bee.oci.netfaults import oci_errors

if TYPE_CHECKING:
    from bee.oci.registry import RegistryClient

LOGIN_SOURCE = "the login command"  # `Credentials.source` of what `bee login` checks
_OK = range(200, 300)


class Authorization:
    """The Authorization of one client: Basic, or Bearer tokens from the challenge's realm.

    A token is asked for every scope the client has needed so far (`merge_scopes`), so a pull
    token is never resent for a push; rejected credentials are reported as such.
    """

    def __init__(self, client: RegistryClient, scope: str | None, credentials: Callable[[], CredentialLookup]) -> None:
        self._client = client
        self._scope = scope
        self._credentials = credentials
        self._lookup: CredentialLookup | None = None
        self._header: str | None = None
        self._scheme: str | None = None
        self._token_scopes: list[str] = []

    @property
    def lookup(self) -> CredentialLookup:
        if self._lookup is None:
            self._lookup = self._credentials()
        return self._lookup

    def header(self) -> str | None:
        return self._header

    def challenged(self, response: requests.Response) -> None:
        """Answer a 401: get a token for the scopes asked, or use Basic credentials.

        Raises `RegistryAuthError` when there is nothing better to send than what was refused.
        """
        raw = response.headers.get("WWW-Authenticate", "")
        host = self._client.endpoint.host
        try:
            challenges = parse_www_authenticate(raw)
        except ValueError as exc:
            raise RegistryAuthError(f"{host} sent a WWW-Authenticate header bee cannot read ({exc})") from None
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.params.get("realm")), None)
        if bearer is not None:
            scopes = merge_scopes([*self._token_scopes, *([self._scope] if self._scope else []),
                                   *bearer.params.get("scope", "").split()])
            if self._scheme == "bearer" and scopes == self._token_scopes:
                raise self.refused()
            token = self._fetch_token(bearer.params["realm"], bearer.params.get("service"), scopes)
            self._scheme, self._header, self._token_scopes = "bearer", f"Bearer {token}", scopes
            return
        if challenges and not any(c.scheme == "basic" for c in challenges):
            schemes = ", ".join(sorted({c.scheme.capitalize() for c in challenges}))
            raise RegistryAuthError(f"{host} asks for {schemes} authentication; bee supports Basic and Bearer")
        credentials = self.lookup.credentials
        if credentials is None or self._scheme == "basic":
            raise self.refused()
        self._scheme, self._header = "basic", f"Basic {credentials.basic()}"

    def _fetch_token(self, realm: str, service: str | None, scopes: list[str]) -> str:
        host = self._client.endpoint.host
        if not realm.startswith(("https://", "http://")):
            raise RegistryAuthError(f"{host} named a token service that is not an http(s) URL: {realm}")
        params = ([("service", service)] if service else []) + [("scope", scope) for scope in scopes]
        credentials = self.lookup.credentials
        headers = {"Accept": "application/json"}
        if credentials is not None:
            headers["Authorization"] = f"Basic {credentials.basic()}"
        url = requests.Request("GET", realm, params=params).prepare().url or realm
        response = self._client.request("GET", url, headers=headers, authenticate=False)
        with response:
            if response.status_code == 401:
                raise self._rejected(credentials) if credentials else self.refused()
            if response.status_code == 403:
                raise self.forbidden()
            if response.status_code not in _OK:
                raise RegistryAuthError(f"the token service of {host} ({realm}) answered "
                                        f"{response.status_code} {response.reason}{oci_errors(response)}")
            try:
                payload = response.json()
                token = payload.get("token") or payload.get("access_token")
            except (ValueError, AttributeError, RecursionError, requests.RequestException):
                token = None
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(f"the token service of {host} ({realm}) answered without a token")
        return token

    def _who(self, credentials: Credentials) -> str:
        return f"{credentials.username} (from {credentials.source})"

    def _rejected(self, credentials: Credentials) -> RegistryAuthError:
        host = self._client.endpoint.host
        if credentials.source == LOGIN_SOURCE:
            return RegistryAuthError(f"{host} rejected the credentials of {credentials.username}: "
                                     "check the username and the password or token")
        return RegistryAuthError(f"{host} rejected the credentials of {self._who(credentials)}: "
                                 f"check them, or log in again with `bee login {host}`")

    def _notes(self) -> str:
        notes = self._lookup.notes if self._lookup else ()
        return f" ({'; '.join(notes)})" if notes else ""

    def refused(self) -> RegistryAuthError:
        """The error for a 401 that bee cannot answer better."""
        client, host = self._client, self._client.endpoint.host
        credentials = self.lookup.credentials
        if credentials is not None and (self._scheme == "basic" or not client.endpoint.repository):
            return self._rejected(credentials)
        if credentials is None:
            if not client.endpoint.repository:
                return RegistryAuthError(f"{host} requires credentials: give -u and -p{self._notes()}")
            if client.action == "push":
                return RegistryAuthError(f"{host} requires credentials to push {client.subject}: log in with "
                                         f"`bee login {host}` or give -u/-p{self._notes()}")
            return RegistryAuthError(
                f"{client.subject}: not found, or not authorized without credentials: log in with "
                f"`bee login {host}` or give -u/-p if it is private{self._notes()}")
        if client.action == "push":
            return RegistryAuthError(f"{self._who(credentials)} is not authorized to push {client.subject}")
        return RegistryAuthError(f"{client.subject}: not found, or {self._who(credentials)} "
                                 "is not authorized to pull it")

    def forbidden(self) -> RegistryError:
        """The error for a 403 (GHCR's answer for an image that does not exist, too)."""
        client, host = self._client, self._client.endpoint.host
        credentials = self.lookup.credentials
        who = self._who(credentials) if credentials else "anonymous access"
        if client.action == "push":
            return RegistryAuthError(f"{who} is not authorized to push {client.subject} "
                                     f"({host} answered 403 Forbidden)")
        hint = "" if credentials else f"; log in with `bee login {host}` if it is private"
        return RegistryNotFoundError(f"{client.subject}: not found, or not authorized to pull it "
                                     f"({host} answered 403 Forbidden to {who}){hint}")
