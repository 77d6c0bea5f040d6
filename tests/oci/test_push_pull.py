"""`bee push` and `bee pull` through the real CLI against real registries: byte-exact round trips,
Bumblebee-format artifacts, indexes, refusals, integrity failures and transport errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bee.oci import mediatypes
from bee.oci.artifact import goarch
from bee.oci.manifest import descriptor, sha256_digest
from bee.oci.store import LocalStore
from tests.helpers import DATA, assert_one_line_error
from tests.registry.client import RawClient, push_raw_bumblebee_artifact


def _manifest(registry, repo: str, reference: str) -> bytes:
    response = RawClient(registry.url, registry.auth, registry.verify).get_manifest(repo, reference)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.clang  # bee build --local
def test_build_push_rm_pull_round_trip(beecli, registry_plain, store_dir: Path, tmp_path: Path) -> None:
    ref = registry_plain.ref("round/tiny", "v1")
    shutil.copy(DATA / "src" / "tiny.c", tmp_path / "tiny.c")
    built = beecli("build", "tiny.c", ref, "--local")
    assert built.returncode == 0, built.stderr
    store = LocalStore(store_dir)
    entry = store.resolve(ref)
    local_manifest = store.manifest_bytes(entry)
    program = store.program_bytes(entry)

    pushed = beecli("--plain-http", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stderr == f"Pushed {ref} ({entry.digest})\n"
    assert pushed.stdout == ""
    assert _manifest(registry_plain, "round/tiny", "v1") == local_manifest  # same bytes, same digest

    again = beecli("--plain-http", "push", ref)  # every blob already there: HEAD, skip, PUT manifest
    assert again.returncode == 0, again.stderr

    assert beecli("rm", ref).returncode == 0
    pulled = beecli("--plain-http", "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stderr == f"Pulled {ref} ({entry.digest})\n"
    after = LocalStore(store_dir).resolve(ref)
    assert after.digest == entry.digest
    assert LocalStore(store_dir).program_bytes(after) == program
    assert after.platform == entry.platform  # the host's uname values, as a build records them
    assert beecli("list").stdout.splitlines()[1].split()[0] == ref


def test_pull_by_digest(beecli, registry_plain, stored, store_dir: Path) -> None:
    ref = registry_plain.ref("bydigest/tiny", "v1")
    digest = stored(ref)
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0
    by_digest = f"{registry_plain.host}/bydigest/tiny@{digest}"
    pulled = beecli("--plain-http", "pull", by_digest)
    assert pulled.returncode == 0, pulled.stderr
    assert LocalStore(store_dir).resolve(by_digest).digest == digest
    wrong = f"{registry_plain.host}/bydigest/tiny@sha256:{'0' * 64}"
    assert_one_line_error(beecli("--plain-http", "pull", wrong), "was not found on")


def test_bumblebee_artifact_uploaded_raw_pulls_and_describes(beecli, registry_plain, program: bytes,
                                                             store_dir: Path) -> None:
    digest = push_raw_bumblebee_artifact(registry_plain.url, "bumblebee/tiny", "0.1", program,
                                         description="opens, as bumblebee ships them")
    body = _manifest(registry_plain, "bumblebee/tiny", "0.1")
    assert b'"mediaType":"application/vnd.oci.image.manifest' not in body[:40]  # no top-level mediaType
    ref = registry_plain.ref("bumblebee/tiny", "0.1")
    pulled = beecli("--plain-http", "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert LocalStore(store_dir).resolve(ref).digest == digest
    described = beecli("describe", ref)
    assert described.returncode == 0, described.stderr
    assert f"Digest:       {digest}" in described.stdout
    assert "Description:  opens, as bumblebee ships them" in described.stdout
    assert "handle_openat" in described.stdout


def test_artifact_type_manifest_is_accepted(beecli, registry_plain, program: bytes, store_dir: Path) -> None:
    client = RawClient(registry_plain.url)
    config = client.upload_blob("artifact/tiny", mediatypes.CONFIG_BYTES)
    layer = client.upload_blob("artifact/tiny", program)
    assert config and layer
    body = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.MANIFEST, "artifactType": "application/vnd.example.ebpf",
        "config": descriptor(mediatypes.CONFIG, mediatypes.CONFIG_BYTES, {mediatypes.TITLE: "config.json"}),
        "layers": [descriptor(mediatypes.PROGRAM, program, {mediatypes.TITLE: "program.o"})],
    }, indent=2).encode()
    digest = client.put_manifest("artifact/tiny", "v1", body)
    ref = registry_plain.ref("artifact/tiny", "v1")
    assert beecli("--plain-http", "pull", ref).returncode == 0
    store = LocalStore(store_dir)
    assert store.manifest_bytes(store.resolve(ref)) == body
    assert store.resolve(ref).digest == digest


def _index_entry(digest: str, size: int, os_name: str, arch: str) -> dict:
    return {"mediaType": mediatypes.MANIFEST, "digest": digest, "size": size,
            "platform": {"architecture": arch, "os": os_name}}


def test_image_index_picks_the_host_platform(beecli, registry_plain, program: bytes, store_dir: Path) -> None:
    repo = "indexed/tiny"
    client = RawClient(registry_plain.url)
    client.upload_blob(repo, mediatypes.CONFIG_BYTES)
    client.upload_blob(repo, program)
    client.upload_blob(repo, b"other")
    from bee.oci.manifest import program_manifest

    ours = program_manifest(program)
    other = program_manifest(b"other")
    client.put_manifest(repo, sha256_digest(ours), ours)
    client.put_manifest(repo, sha256_digest(other), other)
    index = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.INDEX, "manifests": [
        _index_entry(sha256_digest(other), len(other), "linux", "s390x" if goarch() != "s390x" else "arm64"),
        _index_entry(sha256_digest(ours), len(ours), "linux", goarch()),
    ]}).encode()
    client.put_manifest(repo, "multi", index, media_type=mediatypes.INDEX)
    ref = registry_plain.ref(repo, "multi")
    pulled = beecli("--plain-http", "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    entry = LocalStore(store_dir).resolve(ref)
    assert entry.digest == sha256_digest(ours)
    assert (entry.platform.os, entry.platform.architecture) == ("linux", goarch())
    assert LocalStore(store_dir).program_bytes(entry) == program

    lonely = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.INDEX, "manifests": [
        _index_entry(sha256_digest(other), len(other), "windows", goarch())]}).encode()
    client.put_manifest(repo, "elsewhere", lonely, media_type=mediatypes.INDEX)
    assert_one_line_error(beecli("--plain-http", "pull", registry_plain.ref(repo, "elsewhere")),
                          f"no entry for linux/{goarch()}", f"windows/{goarch()}")

    # --platform takes another entry, recorded with its platform
    foreign = "s390x" if goarch() != "s390x" else "arm64"
    chosen = beecli("--plain-http", "pull", ref, "--platform", f"linux/{foreign}")
    assert chosen.returncode == 0, chosen.stderr
    entry = LocalStore(store_dir).resolve(ref)
    assert entry.digest == sha256_digest(other) and entry.platform.architecture == foreign
    assert_one_line_error(beecli("--plain-http", "pull", ref, "--platform", "linux/riscv64"),
                          "no entry for linux/riscv64", f"linux/{foreign}, linux/{goarch()}")
    assert_one_line_error(beecli("--plain-http", "pull", ref, "--platform", "windows/amd64"), "linux only")
    assert_one_line_error(beecli("--plain-http", "pull", ref, "--platform", "arm64"), "expected OS/ARCH")


def test_a_container_image_is_refused_naming_its_media_types(beecli, registry_plain, store_snapshot) -> None:
    repo = "image/busy"
    client = RawClient(registry_plain.url)
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    client.upload_blob(repo, config)
    client.upload_blob(repo, b"not really a tarball")
    body = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.MANIFEST,
                       "config": descriptor("application/vnd.oci.image.config.v1+json", config),
                       "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                                             b"not really a tarball")]}).encode()
    client.put_manifest(repo, "v1", body)
    before = store_snapshot()
    proc = beecli("--plain-http", "pull", registry_plain.ref(repo, "v1"))
    assert_one_line_error(proc, "is not an eBPF program", "application/vnd.oci.image.config.v1+json",
                          "application/vnd.oci.image.layer.v1.tar+gzip")
    assert store_snapshot() == before


def test_blob_corrupted_at_rest_fails_and_leaves_the_store_unchanged(beecli, registry_plain, stored,
                                                                     program: bytes, store_snapshot) -> None:
    ref = registry_plain.ref("rotten/tiny", "v1")
    stored(ref)
    assert beecli("--plain-http", "push", ref).returncode == 0
    stored("keep:v1", data=program + b"\0")  # something else in the store, to compare byte for byte
    assert beecli("rm", ref).returncode == 0
    hex_digest = sha256_digest(program).split(":")[1]
    data = registry_plain.root / "storage/docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"
    original = data.read_bytes()
    try:
        data.write_bytes(original[:100] + bytes([original[100] ^ 0xFF]) + original[101:])
        before = store_snapshot()
        proc = beecli("--plain-http", "pull", ref)
        assert_one_line_error(proc, f"blob {sha256_digest(program)}", "does not match its digest")
        assert store_snapshot() == before
    finally:
        data.write_bytes(original)


def test_tampering_proxy_fails_the_pull_and_leaves_the_store_unchanged(beecli, registry_plain, stored,
                                                                        tampering_proxy, store_snapshot) -> None:
    ref = registry_plain.ref("tampered/tiny", "v1")
    digest = stored(ref)
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0
    proxy = tampering_proxy(registry_plain.url)
    proxied = f"{proxy.url.split('://', 1)[1]}/tampered/tiny:v1"
    before = store_snapshot()
    assert_one_line_error(beecli("--plain-http", "pull", proxied), "does not match its digest")
    assert proxy.tampered
    assert store_snapshot() == before

    manifests = tampering_proxy(registry_plain.url, manifests=True)
    host = manifests.url.split("://", 1)[1]
    for proxied in (f"{host}/tampered/tiny@{digest}", f"{host}/tampered/tiny:v1"):
        assert_one_line_error(beecli("--plain-http", "pull", proxied), "manifest", "does not match its digest")
        assert store_snapshot() == before


def test_registry_down_is_one_line_naming_the_url(beecli, registry_down: str) -> None:
    host = registry_down.split("://", 1)[1]
    proc = beecli("--plain-http", "pull", f"{host}/down/tiny:v1")
    assert_one_line_error(proc, f"cannot reach the registry at http://{host}/v2/", "connection refused")


def test_tls_needs_trust_or_insecure(beecli, registry_tls, registry_plain, stored, store_dir: Path) -> None:
    ref = registry_tls.ref("tls/tiny", "v1")
    stored(ref)
    assert_one_line_error(beecli("push", ref), "cannot be verified", "--insecure")
    pushed = beecli("--insecure", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert beecli("rm", ref).returncode == 0
    trusted = beecli("pull", ref, env={"REQUESTS_CA_BUNDLE": str(registry_tls.ca_cert)})
    assert trusted.returncode == 0, trusted.stderr
    # HTTPS to a plain-HTTP registry: the error says what to do
    assert_one_line_error(beecli("pull", registry_plain.ref("tls/tiny", "v1")), "--plain-http")
    # plain HTTP to an HTTPS registry
    assert_one_line_error(beecli("--plain-http", "pull", ref), "HTTPS", "drop --plain-http")


def test_local_names_need_a_registry(beecli, stored) -> None:
    stored("probe:v1")
    assert_one_line_error(beecli("push", "probe:v1"), "probe:v1 names no registry")


def test_chunked_upload_round_trip(registry_plain, stored, store_dir: Path, tmp_path: Path) -> None:
    from bee.oci.transfer import pull, push
    from bee.options import GlobalOptions

    ref = registry_plain.ref("chunked/tiny", "v1")
    digest = stored(ref)
    options = GlobalOptions(storage=store_dir, config_dir=tmp_path / "cfg", plain_http=True)
    result = push(ref, options, chunk_size=512)  # the program is a few KiB: several PATCHes
    assert (result.digest, result.uploaded) == (digest, 2)
    assert "PATCH" in registry_plain.log
    other = GlobalOptions(storage=tmp_path / "other-store", config_dir=tmp_path / "cfg", plain_http=True)
    assert pull(ref, other).digest == digest
    assert LocalStore(tmp_path / "other-store").program_bytes(LocalStore(tmp_path / "other-store").resolve(ref)) \
        == LocalStore(store_dir).program_bytes(LocalStore(store_dir).resolve(ref))


@pytest.mark.parametrize("chunk_size", [0, 512], ids=["monolithic", "chunked"])
def test_relative_upload_locations(registry_plain, stored, tampering_proxy, store_dir: Path, tmp_path: Path,
                                   chunk_size: int) -> None:
    """An upload session's `Location` may be a path only (GHCR): bee continues on the same host."""
    from bee.oci.transfer import pull, push
    from bee.options import GlobalOptions

    proxy = tampering_proxy(registry_plain.url, relative_locations=True)
    ref = f"{proxy.host}/relative-{chunk_size}/tiny:v1"
    digest = stored(ref)
    options = GlobalOptions(storage=store_dir, config_dir=tmp_path / "cfg", plain_http=True)
    result = push(ref, options, chunk_size=chunk_size or 1 << 20)
    assert (result.digest, result.uploaded) == (digest, 2)
    methods = [line.split(" ", 1)[0] for line in proxy.forwarded]
    assert ("PATCH" in methods) == bool(chunk_size)
    uploads = [line for line in proxy.forwarded if line.startswith(("PATCH ", "PUT /v2/relative-"))
               and "/blobs/uploads/" in line]
    assert uploads and all("_state=" in line for line in uploads)  # the registry's own query string kept
    other = GlobalOptions(storage=tmp_path / "other-store", config_dir=tmp_path / "cfg", plain_http=True)
    pulled = pull(registry_plain.ref(f"relative-{chunk_size}/tiny", "v1"), other)
    assert pulled.digest == digest


def test_two_concurrent_pulls_leave_one_consistent_entry(registry_plain, stored, store_dir: Path,
                                                         tmp_path: Path, program: bytes) -> None:
    import os

    ref = registry_plain.ref("concurrent/tiny", "v1")
    digest = stored(ref)
    from bee.oci.transfer import push
    from bee.options import GlobalOptions

    push(ref, GlobalOptions(storage=store_dir, config_dir=tmp_path / "cfg", plain_http=True))
    target = tmp_path / "fresh-store"
    env = dict(os.environ, BEE_STORAGE=str(target), DOCKER_CONFIG=str(tmp_path / "none"))
    for _round in range(3):
        shutil.rmtree(target, ignore_errors=True)
        procs = [subprocess.Popen([sys.executable, "-m", "bee", "--config-dir", str(tmp_path / "cfg"),
                                   "--plain-http", "pull", ref], env=env, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        index = json.loads((target / "index.json").read_text())
        assert [d["annotations"][mediatypes.REF_NAME] for d in index["manifests"]] == [ref]
        store = LocalStore(target)
        assert store.resolve(ref).digest == digest
        assert store.program_bytes(store.resolve(ref)) == program
        assert not [p for p in target.rglob(".tmp-*")]


@pytest.mark.parametrize("command", ["push", "pull"])
def test_not_a_tty_prints_only_the_result(beecli, registry_plain, stored, command: str) -> None:
    ref = registry_plain.ref(f"quiet/{command}", "v1")
    stored(ref)
    if command == "pull":
        assert beecli("--plain-http", "push", ref).returncode == 0
    proc = beecli("--plain-http", command, ref)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.clang  # bee build --local
@pytest.mark.kernel  # the pulled index runs
def test_a_multi_platform_build_pushes_as_an_index_and_runs_from_it(beecli, run_bee, registry_plain,
                                                                    store_dir: Path, tmp_path: Path) -> None:
    """`bee build --platform` stores an OCI index; `bee push` sends both manifests, then the index under the tag,
    byte for byte; a pull takes this host's entry (or --platform's), and `bee run` of the index itself attaches
    this host's program."""
    ref = registry_plain.ref("multi/snoop", "v1")
    source = tmp_path / "opensnoop.c"
    shutil.copy(DATA.parent.parent / "examples" / "opensnoop" / "opensnoop.c", source)
    built = beecli("build", "opensnoop.c", ref, "--local", "--platform", "linux/amd64,linux/arm64")
    assert built.returncode == 0, built.stderr
    store = LocalStore(store_dir)
    entry = store.resolve(ref)
    children = store.platforms(entry)
    pushed = beecli("--plain-http", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stderr == f"Pushed {ref} ({entry.digest})\n"
    assert _manifest(registry_plain, "multi/snoop", "v1") == store.manifest_bytes(entry)  # the index, as stored
    for child in children:
        assert _manifest(registry_plain, "multi/snoop", child.digest) == store.manifest_bytes(child)

    run = run_bee(ref)  # the index itself: this host's program attaches
    opener = tmp_path / "beeindexop"
    shutil.copy("/bin/cat", opener)

    def seen() -> bool:
        subprocess.run([str(opener), "/etc/hostname"], capture_output=True, check=False)
        return any('"comm": "beeindexop"' in line and '"fname": "/etc/hostname"' in line for line in run.stdout_lines)

    run.wait_for(seen, what="an open(2) of beeindexop")
    run.stop()

    assert beecli("rm", ref).returncode == 0
    host = beecli("--plain-http", "pull", ref)
    assert host.returncode == 0, host.stderr
    pulled = LocalStore(store_dir).resolve(ref)
    amd64 = next(c for c in children if c.platform and c.platform.architecture == goarch())
    assert (pulled.digest, pulled.platform.architecture) == (amd64.digest, goarch())
    other = "arm64" if goarch() != "arm64" else "amd64"
    assert beecli("--plain-http", "pull", "--platform", f"linux/{other}", ref).returncode == 0
    assert LocalStore(store_dir).resolve(ref).platform.architecture == other


@pytest.mark.clang  # bee build --local
def test_global_options_after_the_subcommand_mean_the_same(beecli, registry_plain, tmp_path: Path) -> None:
    """As Bumblebee's users type them: `bee push REF --plain-http`, `bee pull REF --storage DIR`."""
    ref = registry_plain.ref("after/tiny", "v1")
    shutil.copy(DATA / "src" / "tiny.c", tmp_path / "tiny.c")
    elsewhere = tmp_path / "other-store"
    built = beecli("build", "tiny.c", ref, "--local", "--storage", str(elsewhere))
    assert built.returncode == 0, built.stderr
    assert f"in {elsewhere}" in built.stderr
    pushed = beecli("push", ref, "--plain-http", "--storage", str(elsewhere))
    assert pushed.returncode == 0, pushed.stderr
    pulled = beecli("pull", ref, "--plain-http", "-v")
    assert pulled.returncode == 0, pulled.stderr
    assert LocalStore(elsewhere).resolve(ref).digest == pulled.stderr.split("(")[-1].rstrip(")\n")
    refused = beecli("push", ref)  # no --plain-http anywhere: TLS to a plain-HTTP registry
    assert refused.returncode != 0
