"""OCI references: `[registry/]path[:tag][@sha256:hex]`, the docker/distribution grammar.

`parse_reference` accepts what Bumblebee (through oras-go and the distribution
reference grammar) accepts and raises `InvalidReferenceError` with one sentence
naming the text and the reason otherwise. The parsed `Reference` keeps the text
exactly as typed: the local store keys names by that text, so nothing (not even a
missing tag) is filled in.
"""

from __future__ import annotations

import json
import re

from bee.errors import InvalidReferenceError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

NAME_MAX_LENGTH = 255

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])")
_PORT = re.compile(r"[0-9]+")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


class Reference(Record):
    """A parsed reference; `str()` gives back the text exactly as typed."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None
    original: str

    @property
    def name(self) -> str:
        """`registry/repository` (or just the repository), without tag or digest."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        return self.original


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _fail(text: str, reason: str) -> InvalidReferenceError:
    return InvalidReferenceError(f"invalid reference {_quote(text)}: {reason}")


def _is_registry(component: str) -> bool:
    """A first component is a registry if it has a ":" (never valid in a path), or if it
    has a "." or is "localhost" and is a valid host name (else it is read as a path)."""
    if ":" in component or component.startswith("["):
        return True
    return ("." in component or component == "localhost") and _HOST.fullmatch(component) is not None


def _check_registry(text: str, registry: str) -> None:
    host, port = registry, None
    if registry.startswith("["):
        end = registry.find("]")
        if end != -1 and registry[end + 1 : end + 2] == ":":
            host, port = registry[: end + 1], registry[end + 2 :]
    elif ":" in registry:
        host, port = registry.split(":", 1)
    if not _HOST.fullmatch(host):
        raise _fail(text, f"registry host {_quote(host)} is not a valid host name")
    if port is not None and not _PORT.fullmatch(port):
        raise _fail(text, f"registry port {_quote(port)} must be a number")


def _check_path(text: str, components: list[str]) -> None:
    for index, component in enumerate(components):
        if component == "":
            if index == len(components) - 1:
                raise _fail(text, 'it ends with "/" (the repository path is missing)')
            raise _fail(text, 'it has an empty path component ("//" or a leading "/")')
        if _PATH_COMPONENT.fullmatch(component):
            continue
        if _PATH_COMPONENT.fullmatch(component.lower()):
            raise _fail(text, "repository names must be lowercase")
        raise _fail(
            text,
            f"path component {_quote(component)} must be lowercase letters and digits "
            'separated by ".", "_", "__" or "-"',
        )


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    rest, digest = text.split("@", 1)
    if "@" in digest:
        raise _fail(text, 'it contains more than one "@"')
    if _DIGEST.fullmatch(digest):
        return rest, digest
    if not digest.startswith("sha256:"):
        raise _fail(text, f"digest {_quote(digest)} is not supported (only sha256 digests are)")
    raise _fail(text, f'digest {_quote(digest)} must be "sha256:" followed by 64 lowercase hex digits')


def _split_tag(text: str, rest: str) -> tuple[str, str | None]:
    colon = rest.find(":", rest.rfind("/") + 1)
    if colon == -1:
        return rest, None
    name, tag = rest[:colon], rest[colon + 1 :]
    if tag == "":
        raise _fail(text, 'the tag after ":" is empty')
    if ":" in tag:
        raise _fail(text, 'it has more than one ":" (a ":" may only introduce the tag)')
    if not _TAG.fullmatch(tag):
        raise _fail(
            text,
            f'tag {_quote(tag)} must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"',
        )
    return name, tag


def parse_reference(text: str) -> Reference:
    """Parse `text`; raises `InvalidReferenceError` (one sentence) if it is malformed."""
    if text == "":
        raise _fail(text, "the reference is empty")
    if any(ch.isspace() for ch in text):
        raise _fail(text, "it contains whitespace")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise _fail(text, "it contains a control character")
    rest, digest = _split_digest(text)
    name, tag = _split_tag(text, rest)
    if name == "":
        raise _fail(text, "the repository name is missing")
    components = name.split("/")
    registry = None
    if len(components) > 1 and _is_registry(components[0]):
        registry = components.pop(0)
        _check_registry(text, registry)
    _check_path(text, components)
    if len(name) > NAME_MAX_LENGTH:
        raise _fail(text, f"the name is {len(name)} characters long (at most {NAME_MAX_LENGTH} are allowed)")
    return Reference(registry=registry, repository="/".join(components), tag=tag, digest=digest, original=text)
