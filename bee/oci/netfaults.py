"""What a failed HTTP exchange with a registry means, in words: the classifiers `RegistryClient` uses.

Pure functions over `requests`/`urllib3` exceptions and responses; no I/O.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3.exceptions


def cannot_connect(exc: Exception) -> bool:
    """True when no connection was made (refused, unresolvable, connect timeout): retrying will not help."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                             ConnectionRefusedError, requests.exceptions.ConnectTimeout)):
            return True
        stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__,
                      *(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))])
    return False


def connection_reason(exc: Exception, attempts: int) -> str:
    """What went wrong with a connection, in words (`attempts`: how many times a reset was retried)."""
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused (is it running, on this address and port?)"
    if "name or service not known" in lowered or "nameresolution" in lowered or "failed to resolve" in lowered:
        return "the host name does not resolve"
    if isinstance(exc, requests.Timeout) or "timed out" in lowered:
        return "the connection timed out"
    if "reset" in lowered or "aborted" in lowered or "remotedisconnected" in lowered.replace(" ", ""):
        return f"the connection was closed by the registry {attempts} times"
    return text.splitlines()[0][:200] if text else type(exc).__name__


NOT_TLS = "the server does not answer TLS"


def ssl_reason(text: str) -> str:
    """Why a TLS handshake failed, in words (`NOT_TLS` when the peer does not speak TLS at all)."""
    for marker in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "record layer failure", "UNKNOWN_PROTOCOL",
                   "packet length too long", "unexpected eof"):
        if marker.lower() in text.lower():
            return NOT_TLS
    return text.split("(", 1)[-1].rstrip(")")[:160]


def oci_errors(response: requests.Response) -> str:
    """`: CODE: message` from a distribution-spec error body, or ""."""
    try:
        body = response.json()
        errors = body.get("errors") if isinstance(body, dict) else None
    except (ValueError, RuntimeError):
        return ""
    if not isinstance(errors, list):
        return ""
    parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors if isinstance(e, dict)]
    return f" ({'; '.join(p for p in parts if p)})" if parts else ""


def timed_out(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) is a read timeout."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (urllib3.exceptions.ReadTimeoutError, requests.ReadTimeout, TimeoutError)):
            return True
        stack.extend([item.__cause__, item.__context__,
                      *(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))])
    return False
