"""LocalStore: Bumblebee's OCI image-layout store, read and written byte for byte."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bee.errors import InvalidReferenceError, RefNotFoundError, StoreError
from bee.oci import gojson, mediatypes
from bee.oci.fileutil import locked
from bee.oci.manifest import program_manifest, sha256_digest
from bee.oci.store import LocalStore, Platform, StoreEntry

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "bumblebee_store"
OPENSNOOP = "ghcr.io/solo-io/bumblebee/opensnoop:0.0.15"
OPENSNOOP_DIGEST = "sha256:99b415e64bac29efc884c2470f24574ca232e6ae7e988bbd29a9d07f503fdf70"
MY_PROBE_DIGEST = "sha256:47c520f1b0e666b339e8cc8659fb96939ab6fbbab47649e6142d5355c22ed220"
PROGRAM_HEX = "ab6156cfbb199b26dbcd4fe50be0cd53131d3b446f35280b1f138516d4c421b5"
CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
FIXTURE_PLATFORM = Platform(os="Linux", os_version="6.1.0-18-amd64", architecture="x86_64")
DESCRIPTION = "Logs openat(2) callers & their pid"
AUTHORS = "Jane Doe <jane@example.com>"
HOST = Platform(os="Linux", os_version="6.18.0-test", architecture="x86_64")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def blob_names(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs" / "sha256").iterdir()}


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture
def program() -> bytes:
    return (FIXTURE / "blobs" / "sha256" / PROGRAM_HEX).read_bytes()


# -- the Bumblebee fixture -----------------------------------------------------------------


def test_fixture_lists_both_refs_in_order_with_platforms():
    before = snapshot(FIXTURE)
    entries = LocalStore(FIXTURE).entries()
    assert [e.ref for e in entries] == [OPENSNOOP, "my_probe:v1"]
    assert [e.digest for e in entries] == [OPENSNOOP_DIGEST, MY_PROBE_DIGEST]
    assert all(e.platform == FIXTURE_PLATFORM for e in entries)
    assert entries[0].annotations == {mediatypes.REF_NAME: OPENSNOOP}
    assert snapshot(FIXTURE) == before, "reading must not write anything (not even a lock file)"


def test_fixture_resolves_and_reads_program(program: bytes):
    store = LocalStore(FIXTURE)
    entry = store.resolve("my_probe:v1")
    assert entry.digest == MY_PROBE_DIGEST
    assert entry.size == 641
    assert store.program_bytes(entry) == program
    assert program[:4] == b"\x7fELF"
    manifest = store.manifest(entry)
    assert manifest["annotations"] == {mediatypes.AUTHORS: AUTHORS, mediatypes.DESCRIPTION: DESCRIPTION}
    assert store.program_bytes(store.resolve(OPENSNOOP)) == program


def test_writer_gives_the_fixture_manifest_bytes(tmp_path: Path, program: bytes):
    store = LocalStore(tmp_path / "store")
    plain = store.save_program(OPENSNOOP, program, platform=FIXTURE_PLATFORM)
    annotated = store.save_program(
        "my_probe:v1", program, platform=FIXTURE_PLATFORM, description=DESCRIPTION, authors=AUTHORS
    )
    assert plain.digest == OPENSNOOP_DIGEST
    assert annotated.digest == MY_PROBE_DIGEST
    assert snapshot(tmp_path / "store")["index.json"] == (FIXTURE / "index.json").read_bytes()
    ours = snapshot(tmp_path / "store")
    theirs = snapshot(FIXTURE)
    for name in ("oci-layout", *(f"blobs/sha256/{h}" for h in blob_names(FIXTURE))):
        assert ours[name] == theirs[name], name


def test_manifest_shape_has_no_media_type_and_omits_empty_annotations(program: bytes):
    manifest = program_manifest(program, description="", authors=None)
    assert manifest.startswith(b'{"schemaVersion":2,"config":{"mediaType":"application/ebpf.oci.image.config.v1+json",')
    assert b'"annotations":{"org.opencontainers.image.title":"program.o"}}]}' in manifest
    assert b'"mediaType":"application/vnd.oci.image.manifest' not in manifest
    assert manifest.endswith(b"}]}")


def test_gojson_escapes_like_go():
    assert gojson.dumps({"b": '<a&b>\u2028\x01\n"\\', "a": [1, True, None]}) == (
        b'{"b":"\\u003ca\\u0026b\\u003e\\u2028\\u0001\\n\\"\\\\","a":[1,true,null]}'
    )
    assert gojson.dumps("caf\u00e9") == '"caf\u00e9"'.encode()


# -- platform ------------------------------------------------------------------------------


def test_platform_host_and_json():
    uname = os.uname()
    assert Platform.host() == Platform(os=uname.sysname, os_version=uname.release, architecture=uname.machine)
    data = HOST.to_json()
    assert list(data) == ["architecture", "os", "os.version"]
    assert Platform.from_json(data) == HOST
    assert Platform.from_json({"os": "Linux", "architecture": "arm64"}).os_version == ""


# -- save / list / resolve -----------------------------------------------------------------


def test_missing_store_reads_empty_and_is_not_created(tmp_path: Path):
    store = LocalStore(tmp_path / "nowhere")
    assert store.entries() == []
    with pytest.raises(RefNotFoundError):
        store.resolve("probe:v1")
    with pytest.raises(RefNotFoundError):
        store.remove("probe:v1")
    with pytest.raises(RefNotFoundError):
        store.tag("probe:v1", "probe:v2")
    assert not (tmp_path / "nowhere").exists()


def test_first_save_creates_the_layout(tmp_path: Path, program: bytes):
    root = tmp_path / "a" / "store"
    entry = LocalStore(root).save_program("probe:v1", program, platform=HOST)
    files = snapshot(root)
    assert files["oci-layout"] == b'{"imageLayoutVersion":"1.0.0"}'
    manifest_bytes = program_manifest(program)
    expected_index = (
        '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"digest":"{sha256_digest(manifest_bytes)}","size":{len(manifest_bytes)},'
        '"annotations":{"org.opencontainers.image.ref.name":"probe:v1"},'
        '"platform":{"architecture":"x86_64","os":"Linux","os.version":"6.18.0-test"}}]}'
    )
    assert files["index.json"].decode() == expected_index
    assert set(files) == {
        "oci-layout",
        "index.json",
        ".bee.lock",
        f"blobs/sha256/{CONFIG_DIGEST[7:]}",
        f"blobs/sha256/{PROGRAM_HEX}",
        f"blobs/sha256/{entry.digest[7:]}",
    }
    assert files[f"blobs/sha256/{CONFIG_DIGEST[7:]}"] == b"{}"
    assert entry == StoreEntry(
        ref="probe:v1",
        digest=sha256_digest(manifest_bytes),
        size=len(manifest_bytes),
        platform=HOST,
        annotations={mediatypes.REF_NAME: "probe:v1"},
    )


def test_save_without_platform(tmp_path: Path):
    store = LocalStore(tmp_path)
    store.save_program("probe", b"\x7fELF-x", platform=None)
    (entry,) = store.entries()
    assert entry.platform is None
    assert b'"platform"' not in (tmp_path / "index.json").read_bytes()


def test_save_replaces_a_name_in_place(tmp_path: Path):
    store = LocalStore(tmp_path)
    store.save_program("a:1", b"one", platform=HOST)
    store.save_program("b:1", b"two", platform=HOST)
    replaced = store.save_program("a:1", b"three", platform=None)
    entries = store.entries()
    assert [e.ref for e in entries] == ["a:1", "b:1"]
    assert entries[0] == replaced
    assert store.program_bytes(store.resolve("a:1")) == b"three"


def test_save_keeps_what_other_tools_wrote(fixture_copy: Path, program: bytes):
    index = json.loads((fixture_copy / "index.json").read_bytes())
    index["annotations"] = {"x.other": "kept"}
    index["manifests"][0]["urls"] = ["https://example.com/x"]
    index["manifests"][0]["platform"]["variant"] = "v3"
    index["manifests"][1]["annotations"]["x.note"] = "<kept>"
    index["manifests"][1]["platform"]["os.features"] = ["sse4"]
    index["manifests"][1]["x-score"] = 1.5
    (fixture_copy / "index.json").write_bytes(json.dumps(index).encode())
    LocalStore(fixture_copy).save_program("new:1", program, platform=HOST)
    after = json.loads((fixture_copy / "index.json").read_bytes())
    assert after["annotations"] == {"x.other": "kept"}
    assert after["manifests"][:2] == index["manifests"]
    assert after["manifests"][2]["annotations"][mediatypes.REF_NAME] == "new:1"
    assert list(after) == ["schemaVersion", "manifests", "annotations"]
    assert [e.ref for e in LocalStore(fixture_copy).entries()] == [OPENSNOOP, "my_probe:v1", "new:1"]


def test_save_validates_the_reference(tmp_path: Path):
    with pytest.raises(InvalidReferenceError):
        LocalStore(tmp_path / "s").save_program("Foo:bar", b"x", platform=None)
    assert not (tmp_path / "s").exists()


def test_resolve_unknown_ref(fixture_copy: Path):
    store = LocalStore(fixture_copy)
    with pytest.raises(RefNotFoundError) as info:
        store.resolve("nope:v1")
    assert str(info.value) == (
        f"nope:v1 is not in the local store ({fixture_copy}); build it with `bee build` or pull it with `bee pull`"
    )
    with pytest.raises(InvalidReferenceError):
        store.resolve("Nope:v1")


def test_resolve_by_digest(fixture_copy: Path):
    store = LocalStore(fixture_copy)
    assert store.resolve(f"my_probe@{MY_PROBE_DIGEST}").ref == "my_probe:v1"
    assert store.resolve(f"ghcr.io/solo-io/bumblebee/opensnoop@{OPENSNOOP_DIGEST}").ref == OPENSNOOP
    # Content is addressed by digest: another name with the same manifest digest is the same artifact.
    assert store.resolve(f"elsewhere.io/x@{OPENSNOOP_DIGEST}").digest == OPENSNOOP_DIGEST
    with pytest.raises(RefNotFoundError):
        store.resolve("my_probe@sha256:" + "0" * 64)


def test_tolerates_null_manifests_and_duplicate_names(tmp_path: Path, program: bytes):
    (tmp_path / "index.json").write_bytes(b'{"schemaVersion":2,"manifests":null}')
    store = LocalStore(tmp_path)
    assert store.entries() == []
    store.save_program("a:1", b"one", platform=None)
    index = json.loads((tmp_path / "index.json").read_bytes())
    first = index["manifests"][0]
    second = dict(first, digest=sha256_digest(b"x"))
    index["manifests"] = [first, second]
    (tmp_path / "index.json").write_bytes(json.dumps(index).encode())
    assert [e.digest for e in store.entries()] == [second["digest"]]
    store.save_program("a:1", b"two", platform=None)
    assert len(json.loads((tmp_path / "index.json").read_bytes())["manifests"]) == 1


# -- manifests and programs ----------------------------------------------------------------


def test_program_layer_found_by_title_and_manifest_media_type_accepted(tmp_path: Path):
    store = LocalStore(tmp_path)
    program = b"\x7fELF fallback"
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.MANIFEST,
        "config": {"mediaType": mediatypes.CONFIG, "digest": CONFIG_DIGEST, "size": 2},
        "layers": [
            {
                "mediaType": "application/octet-stream",
                "digest": sha256_digest(program),
                "size": len(program),
                "annotations": {mediatypes.TITLE: mediatypes.PROGRAM_TITLE},
            }
        ],
    }
    data = json.dumps(manifest).encode()
    entry = store.import_manifest("x:1", data, {CONFIG_DIGEST: b"{}", sha256_digest(program): program}, platform=None)
    assert store.program_bytes(entry) == program
    assert store.manifest(entry)["mediaType"] == mediatypes.MANIFEST


def test_manifest_without_program_layer(tmp_path: Path):
    store = LocalStore(tmp_path)
    data = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"mediaType": mediatypes.CONFIG, "digest": CONFIG_DIGEST, "size": 2},
            "layers": [],
        }
    ).encode()
    entry = store.import_manifest("x:1", data, {CONFIG_DIGEST: b"{}"}, platform=None)
    with pytest.raises(StoreError, match="has no eBPF program layer"):
        store.program_bytes(entry)


def test_corrupted_or_missing_blob(fixture_copy: Path):
    store = LocalStore(fixture_copy)
    entry = store.resolve("my_probe:v1")
    blob = fixture_copy / "blobs" / "sha256" / PROGRAM_HEX
    blob.chmod(0o644)
    blob.write_bytes(b"\x00" * 3024)
    with pytest.raises(StoreError, match="program of my_probe:v1 in the local store is corrupted"):
        store.program_bytes(entry)
    blob.unlink()
    with pytest.raises(StoreError, match="is missing from the local store"):
        store.program_bytes(entry)


def test_saving_repairs_a_corrupted_blob(fixture_copy: Path, program: bytes):
    blob = fixture_copy / "blobs" / "sha256" / PROGRAM_HEX
    blob.write_bytes(b"garbage")
    store = LocalStore(fixture_copy)
    store.save_program("again:1", program, platform=None)
    assert blob.read_bytes() == program


# -- tag and remove ------------------------------------------------------------------------


def test_tag_adds_a_name(fixture_copy: Path):
    store = LocalStore(fixture_copy)
    new = store.tag("my_probe:v1", "localhost:5000/me/probe:v2")
    assert new.digest == MY_PROBE_DIGEST
    assert new.platform == FIXTURE_PLATFORM
    assert new.ref == "localhost:5000/me/probe:v2"
    assert [e.ref for e in store.entries()] == [OPENSNOOP, "my_probe:v1", "localhost:5000/me/probe:v2"]
    raw = json.loads((fixture_copy / "index.json").read_bytes())["manifests"]
    assert list(raw[2]) == ["mediaType", "digest", "size", "annotations", "platform"]
    # Tagging onto an existing name moves it, in place.
    store.tag(OPENSNOOP, "my_probe:v1")
    assert [(e.ref, e.digest) for e in store.entries()] == [
        (OPENSNOOP, OPENSNOOP_DIGEST),
        ("my_probe:v1", OPENSNOOP_DIGEST),
        ("localhost:5000/me/probe:v2", MY_PROBE_DIGEST),
    ]


def test_tag_errors_leave_the_store_unchanged(fixture_copy: Path):
    store = LocalStore(fixture_copy)
    before = snapshot(fixture_copy)
    with pytest.raises(RefNotFoundError):
        store.tag("missing:1", "x:1")
    with pytest.raises(InvalidReferenceError):
        store.tag("my_probe:v1", "Bad:1")
    after = snapshot(fixture_copy)
    after.pop(".bee.lock", None)
    assert after == before


def test_remove_and_garbage_collection(tmp_path: Path):
    store = LocalStore(tmp_path)
    a = store.save_program("a:1", b"program one", platform=HOST)
    store.tag("a:1", "b:1")
    c = store.save_program("c:1", b"program two", platform=HOST)
    everything = blob_names(tmp_path)
    assert len(everything) == 5  # config, 2 programs, 2 manifests

    removed = store.remove("a:1")
    assert removed.ref == "a:1" and removed.digest == a.digest
    assert blob_names(tmp_path) == everything  # b:1 still uses them
    assert [e.ref for e in store.entries()] == ["b:1", "c:1"]

    store.remove("b:1")
    assert blob_names(tmp_path) == {CONFIG_DIGEST[7:], sha256_digest(b"program two")[7:], c.digest[7:]}

    store.remove("c:1")
    assert blob_names(tmp_path) == set()
    assert store.entries() == []
    assert json.loads((tmp_path / "index.json").read_bytes()) == {"schemaVersion": 2, "manifests": []}

    with pytest.raises(RefNotFoundError):
        store.remove("c:1")
    with pytest.raises(InvalidReferenceError):
        store.remove("C:1")


def test_remove_keeps_blobs_reachable_through_unknown_manifest_kinds(fixture_copy: Path):
    # An image index written by another tool that points at my_probe's manifest.
    image_index = gojson.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.INDEX,
            "manifests": [{"mediaType": mediatypes.MANIFEST, "digest": MY_PROBE_DIGEST, "size": 641}],
        }
    )
    (fixture_copy / "blobs" / "sha256" / sha256_digest(image_index)[7:]).write_bytes(image_index)
    index = json.loads((fixture_copy / "index.json").read_bytes())
    index["manifests"].append(
        {
            "mediaType": mediatypes.INDEX,
            "digest": sha256_digest(image_index),
            "size": len(image_index),
            "annotations": {mediatypes.REF_NAME: "multi:1"},
        }
    )
    (fixture_copy / "index.json").write_bytes(json.dumps(index).encode())
    orphan = fixture_copy / "blobs" / "sha256" / ("0" * 64)
    orphan.write_bytes(b"orphan")
    before = blob_names(fixture_copy)

    store = LocalStore(fixture_copy)
    store.remove("my_probe:v1")
    store.remove(OPENSNOOP)
    # my_probe's manifest, the config and the program stay (multi:1 reaches them); the rest goes.
    assert blob_names(fixture_copy) == before - {orphan.name, OPENSNOOP_DIGEST[7:]}
    assert (fixture_copy / "README.md").exists()


# -- failures: corruption, full disk, unwritable -------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "it is not valid JSON"),
        (b"", "it is not valid JSON"),
        (b"[]", "it is not a JSON object"),
        (b'{"schemaVersion":2,"manifests":[],"x":NaN}', "NaN is not a JSON value"),
        (b'{"manifests":[]}', "its schemaVersion is not 2"),
        (b'{"schemaVersion":2,"manifests":{}}', "its manifests field is not a list"),
        (b'{"schemaVersion":2,"manifests":[{"digest":"nope","size":1}]}', "manifest descriptor 1 has no valid digest"),
        (b'{"schemaVersion":2,"manifests":[{"digest":"sha256:ab","size":"1"}]}', "has no valid size"),
        (b'{"schemaVersion":2,"manifests":[{"digest":"sha256:ab","size":1,"platform":[]}]}', "platform"),
        (b'{"schemaVersion":2,"manifests":[{"digest":"sha256:ab","size":1,"annotations":{"a":1}}]}', "annotations"),
    ],
)
def test_corrupted_index(fixture_copy: Path, content: bytes, reason: str):
    index_path = fixture_copy / "index.json"
    index_path.write_bytes(content)
    (fixture_copy / "oci-layout").unlink()
    before = snapshot(fixture_copy)
    store = LocalStore(fixture_copy)
    calls = [
        store.entries,
        lambda: store.resolve("my_probe:v1"),
        lambda: store.save_program("new:1", b"program", platform=None),
        lambda: store.tag("my_probe:v1", "other:1"),
        lambda: store.remove("my_probe:v1"),
    ]
    for call in calls:
        with pytest.raises(StoreError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"the local store index {index_path} is corrupted: ")
        assert reason in message
        assert "\n" not in message
    after = snapshot(fixture_copy)
    after.pop(".bee.lock", None)
    assert after == before


def test_wrong_layout_version_is_refused(fixture_copy: Path):
    (fixture_copy / "oci-layout").write_bytes(b'{"imageLayoutVersion":"9.9.9"}')
    before = snapshot(fixture_copy)
    with pytest.raises(StoreError, match="is not an OCI image layout version 1.0.0"):
        LocalStore(fixture_copy).save_program("new:1", b"program", platform=None)
    after = snapshot(fixture_copy)
    after.pop(".bee.lock", None)
    assert after == before


def test_full_disk_leaves_no_partial_files(fixture_copy: Path, monkeypatch: pytest.MonkeyPatch):
    before = snapshot(fixture_copy)
    real_write = os.write
    budget = [10]

    def write(fd: int, data: bytes) -> int:
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data)[: budget[0]])
        budget[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(StoreError) as info:
        LocalStore(fixture_copy).save_program("new:1", b"a new program of some length", platform=None)
    monkeypatch.undo()
    assert str(info.value) == (f"cannot write to the local store at {fixture_copy}: No space left on device")
    after = snapshot(fixture_copy)
    after.pop(".bee.lock", None)
    assert after == before
    assert temp_files(fixture_copy) == []


def test_failed_index_replace_keeps_the_old_index(fixture_copy: Path, monkeypatch: pytest.MonkeyPatch):
    index_before = (fixture_copy / "index.json").read_bytes()
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "index.json":
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StoreError, match=f"cannot write to the local store at {fixture_copy}: "):
        LocalStore(fixture_copy).save_program("new:1", b"program", platform=None)
    monkeypatch.undo()
    assert (fixture_copy / "index.json").read_bytes() == index_before
    assert temp_files(fixture_copy) == []
    assert [e.ref for e in LocalStore(fixture_copy).entries()] == [OPENSNOOP, "my_probe:v1"]


def test_store_path_that_is_a_file(tmp_path: Path):
    root = tmp_path / "store"
    root.write_bytes(b"not a directory")
    store = LocalStore(root)
    # it said "cannot write to the local store at ...: File exists", which names the wrong problem
    with pytest.raises(StoreError, match=f"^the local store {root} is not a directory; point --storage "
                                         r"\(or BEE_STORAGE\) at a directory$"):
        store.save_program("probe:v1", b"x", platform=None)
    with pytest.raises(StoreError, match="is not a directory"):
        store.entries()


def test_many_saves_leave_no_temp_files(tmp_path: Path):
    store = LocalStore(tmp_path)
    for i in range(10):
        store.save_program(f"p{i}:v1", f"program {i % 3}".encode(), platform=HOST)
    store.remove("p0:v1")
    assert temp_files(tmp_path) == []
    assert {p.name for p in tmp_path.iterdir()} == {"oci-layout", "index.json", "blobs", ".bee.lock"}


# -- import_manifest -----------------------------------------------------------------------


def _artifact(program: bytes) -> tuple[bytes, dict[str, bytes]]:
    return program_manifest(program), {CONFIG_DIGEST: b"{}", sha256_digest(program): program}


def test_import_manifest(tmp_path: Path):
    store = LocalStore(tmp_path)
    manifest, blobs = _artifact(b"\x7fELF pulled")
    digest = sha256_digest(manifest)
    entry = store.import_manifest(f"ghcr.io/x/y:1@{digest}", manifest, blobs, platform=None)
    assert entry.digest == digest
    assert store.program_bytes(store.resolve(f"ghcr.io/x/y:1@{digest}")) == b"\x7fELF pulled"
    # Blobs already in the store need not be passed again.
    again = store.import_manifest("ghcr.io/x/y:2", manifest, {}, platform=HOST)
    assert again.digest == digest and again.platform == HOST


@pytest.mark.parametrize("problem", ["digest", "size", "missing", "manifest-digest", "not-a-manifest"])
def test_import_manifest_mismatch_leaves_the_store_unchanged(fixture_copy: Path, problem: str):
    program = b"\x7fELF pulled program"
    manifest, blobs = _artifact(program)
    ref = "ghcr.io/x/y:1"
    if problem == "digest":
        blobs[sha256_digest(program)] = b"\x7fELF pulled progrXm"
    elif problem == "size":
        blobs[sha256_digest(program)] = program + b"!"
    elif problem == "missing":
        del blobs[sha256_digest(program)]
    elif problem == "manifest-digest":
        ref = "ghcr.io/x/y@sha256:" + "1" * 64
    else:
        manifest = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    before = snapshot(fixture_copy)
    with pytest.raises(StoreError) as info:
        LocalStore(fixture_copy).import_manifest(ref, manifest, blobs, platform=HOST)
    assert "\n" not in str(info.value)
    assert snapshot(fixture_copy) == before


# -- concurrency ---------------------------------------------------------------------------

_SAVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bee.oci.store import LocalStore, Platform
    root, prefix, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.001)
    store = LocalStore(root)
    for i in range(int(sys.argv[4])):
        store.save_program(f"{prefix}/probe{i}:v1", f"{prefix} {i}".encode(), platform=Platform.host())
    """
)


def _saver(root: Path, prefix: str, go: Path, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(root), prefix, str(go), str(count)], stderr=subprocess.PIPE
    )


def test_two_processes_saving_concurrently(tmp_path: Path):
    root, go = tmp_path / "store", tmp_path / "go"
    procs = [_saver(root, prefix, go, 30) for prefix in ("alpha", "beta")]
    time.sleep(0.2)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    json.loads((root / "index.json").read_bytes())
    store = LocalStore(root)
    refs = {e.ref for e in store.entries()}
    expected = {f"{prefix}/probe{i}:v1" for prefix in ("alpha", "beta") for i in range(30)}
    assert refs == expected
    for ref in ("alpha/probe7:v1", "beta/probe29:v1"):
        assert (
            store.program_bytes(store.resolve(ref))
            == ref.split("/probe")[0].encode() + b" " + ref[ref.index("probe") + 5 : ref.index(":")].encode()
        )
    assert temp_files(root) == []


def test_writers_wait_for_the_lock(tmp_path: Path):
    root, go = tmp_path / "store", tmp_path / "go"
    root.mkdir()
    go.touch()
    with locked(root / ".bee.lock", exclusive=True):
        proc = _saver(root, "held", go, 1)
        time.sleep(1.0)
        assert proc.poll() is None, "a writer must block while another holds the store lock"
        assert not (root / "index.json").exists()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert [e.ref for e in LocalStore(root).entries()] == ["held/probe0:v1"]


def test_garbage_collection_keeps_everything_when_a_manifest_is_unreadable(tmp_path: Path):
    store = LocalStore(tmp_path)
    store.save_program("a:1", b"one", platform=None)
    kept = store.save_program("b:1", b"two", platform=None)
    manifest_blob = tmp_path / "blobs" / "sha256" / kept.digest[7:]
    manifest_blob.chmod(0o644)
    manifest_blob.write_bytes(b"{ truncated")
    before = blob_names(tmp_path)
    store.remove("a:1")
    assert blob_names(tmp_path) == before


def test_importing_the_store_stays_light():
    code = "import sys, bee.oci.store; print(sorted(m for m in ('rich', 'docker', 'requests') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- sizes are bounded before anything is read -----------------------------------------------


def test_an_index_over_the_limit_is_refused_unread(fixture_copy: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("bee.oci.store.MAX_INDEX", 1024)  # the real limit (64 MiB) with a file of 1 KiB + 1
    index_path = fixture_copy / "index.json"
    index_path.write_bytes(b" " * 1025)
    with pytest.raises(StoreError, match=r"is corrupted: it is 1025 bytes, more than bee's limit of 0 MiB"):
        LocalStore(fixture_copy).entries()


def test_a_program_recorded_over_the_limit_is_refused_before_reading(fixture_copy: Path):
    """A manifest that says its program is 3 GiB (and a sparse blob that is) costs no memory: refused by size."""
    store = LocalStore(fixture_copy)
    huge = 3 << 30
    blob = fixture_copy / "blobs" / "sha256" / PROGRAM_HEX
    blob.chmod(0o644)
    with open(blob, "r+b") as file:
        file.truncate(huge)
    data = json.dumps({"schemaVersion": 2, "config": {"mediaType": mediatypes.CONFIG, "digest": CONFIG_DIGEST,
                                                      "size": 2},
                       "layers": [{"mediaType": mediatypes.PROGRAM, "digest": f"sha256:{PROGRAM_HEX}",
                                   "size": huge}]}).encode()
    digest = sha256_digest(data)
    (fixture_copy / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    index_path = fixture_copy / "index.json"
    index = json.loads(index_path.read_bytes())
    index["manifests"][1].update(digest=digest, size=len(data))  # my_probe:v1 now names that manifest
    index_path.write_text(json.dumps(index))
    entry = store.resolve("my_probe:v1")
    with pytest.raises(StoreError, match=r"the program of my_probe:v1 is 3221225472 bytes by the local store's "
                                         r"records, more than bee's limit of 64 MiB"):
        store.program_bytes(entry)


def test_a_blob_larger_than_recorded_is_corrupt_not_read(fixture_copy: Path):
    store = LocalStore(fixture_copy)
    entry = store.resolve("my_probe:v1")
    blob = fixture_copy / "blobs" / "sha256" / PROGRAM_HEX
    blob.chmod(0o644)
    with open(blob, "r+b") as file:
        file.truncate(1 << 30)  # sparse: 1 GiB that would be read whole before
    with pytest.raises(StoreError, match="program of my_probe:v1 in the local store is corrupted"):
        store.program_bytes(entry)
