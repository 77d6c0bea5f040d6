"""parse_reference: the docker/distribution reference grammar, with one-sentence errors."""

from __future__ import annotations

import pytest

from bee.errors import InvalidReferenceError
from bee.oci.reference import Reference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("probe:v1", None, "probe", "v1", None),
        ("probe", None, "probe", None, None),
        ("my_probe:v1", None, "my_probe", "v1", None),
        ("localhost:5000/a/b:1.0", "localhost:5000", "a/b", "1.0", None),
        ("localhost/a", "localhost", "a", None, None),
        ("localhost:5000", None, "localhost", "5000", None),
        ("ghcr.io/solo-io/bumblebee/opensnoop:0.0.15", "ghcr.io", "solo-io/bumblebee/opensnoop", "0.0.15", None),
        ("Registry.Example.com:443/team/x", "Registry.Example.com:443", "team/x", None, None),
        ("[::1]:5000/a:b", "[::1]:5000", "a", "b", None),
        ("a/b/c", None, "a/b/c", None, None),
        ("a__b_c---d/e.f", None, "a__b_c---d/e.f", None, None),
        ("a_b.c/d", None, "a_b.c/d", None, None),
        ("example.com/x", "example.com", "x", None, None),
        (f"probe@{DIGEST}", None, "probe", None, DIGEST),
        (f"ghcr.io/x/y:1@{DIGEST}", "ghcr.io", "x/y", "1", DIGEST),
        ("p:_Tag.With-Mixed_Case", None, "p", "_Tag.With-Mixed_Case", None),
        ("p:" + "t" * 128, None, "p", "t" * 128, None),
    ],
)
def test_valid_references(text: str, registry: str | None, repository: str, tag: str | None, digest: str | None):
    ref = parse_reference(text)
    assert ref == Reference(registry=registry, repository=repository, tag=tag, digest=digest, original=text)
    assert str(ref) == text


def test_missing_tag_is_kept_missing():
    ref = parse_reference("probe")
    assert ref.tag is None
    assert str(ref) == "probe"


def test_name_property():
    assert parse_reference("ghcr.io/x/y:1").name == "ghcr.io/x/y"
    assert parse_reference("y:1").name == "y"


def test_reference_is_frozen():
    ref = parse_reference("probe:v1")
    with pytest.raises(AttributeError):
        ref.tag = "v2"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Foo:bar", "repository names must be lowercase"),
        ("ghcr.io/Solo/x", "repository names must be lowercase"),
        ("a:b:c", 'more than one ":"'),
        ("../../etc/x", 'path component ".."'),
        ("", "the reference is empty"),
        ("a b", "whitespace"),
        ("a\tb", "whitespace"),
        ("a\x00b", "control character"),
        (":tag", "repository name is missing"),
        (f"@{DIGEST}", "repository name is missing"),
        ("ghcr.io/", 'ends with "/"'),
        ("a//b", "empty path component"),
        ("/a", "empty path component"),
        ("probe:", "tag after"),
        ("probe:-x", 'tag "-x"'),
        ("probe:.x", 'tag ".x"'),
        ("probe:" + "t" * 129, "1 to 128"),
        ("probe@sha256:abc", "64 lowercase hex"),
        ("probe@sha256:" + "AB" * 32, "64 lowercase hex"),
        ("probe@md5:" + "a" * 32, "only sha256"),
        (f"probe@{DIGEST}@{DIGEST}", 'more than one "@"'),
        ("host:port/x", 'registry port "port"'),
        ("-bad.io/x", 'path component "-bad.io"'),
        ("-bad.io:5000/x", 'registry host "-bad.io"'),
        ("[zz]:1/x", 'registry host "[zz]"'),
        ("a-/b", 'path component "a-"'),
        ("a/_b", 'path component "_b"'),
        ("a...b", 'path component "a...b"'),
        ("caf\u00e9", 'path component "caf\u00e9"'),
        ("x/" + "a" * 254, "at most 255"),
    ],
)
def test_invalid_references(text: str, reason: str):
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    message = str(info.value)
    assert message.startswith("invalid reference ")
    assert reason in message
    assert "\n" not in message


def test_error_names_the_text_exactly():
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference("Foo:bar")
    assert str(info.value) == 'invalid reference "Foo:bar": repository names must be lowercase'


def test_name_length_limit_counts_registry():
    name = "r.io/" + "a" * 250
    assert parse_reference(name).repository == "a" * 250
    with pytest.raises(InvalidReferenceError):
        parse_reference("r.io/" + "a" * 251)
