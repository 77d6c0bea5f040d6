"""bpfman and Inspektor Gadget images, built by raw HTTP in each exact layout, pulled into the store as
Bumblebee programs, described with the metadata each format carries, and run with real kernel events;
malformed ones refused with one sentence and the store untouched."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bee.oci.store import LocalStore
from tests.helpers import assert_one_line_error
from tests.registry.client import RawClient
from tests.registry.layouts import gzip_bomb, push_bpfman, push_gadget, tar_gz

PLAIN = "--plain-http"
NEW_LABELS = {"io.ebpf.programs": '{"handle_openat":"tracepoint"}', "io.ebpf.maps": '{"print_events":"ringbuf"}'}
OLD_LABELS = {"io.ebpf.program_name": "handle_openat", "io.ebpf.bpf_function_name": "handle_openat",
              "io.ebpf.program_type": "tracepoint", "io.ebpf.filename": "tiny.bpf.o"}
GADGET_YAML = b"name: tiny\ndescription: opens, from a gadget\nhomepageURL: https://example.com/tiny\n" \
              b"datasources:\n  open:\n    fields: {pid: {}}\n"

BPFMAN_VARIANTS = {
    "oci, io.ebpf.programs": dict(docker=False, index=False, labels=NEW_LABELS, name="tiny.o"),
    "docker, legacy labels": dict(docker=True, index=False, labels=OLD_LABELS, name="tiny.bpf.o"),
    "oci index": dict(docker=False, index=True, labels=NEW_LABELS, name="./tiny.o"),
    "docker manifest list": dict(docker=True, index=True, labels=OLD_LABELS, name="tiny.bpf.o"),
}


@pytest.mark.parametrize("variant", list(BPFMAN_VARIANTS))
def test_a_bpfman_image_is_pulled_as_a_program(variant: str, beecli, registry_plain, program: bytes,
                                               store_dir: Path) -> None:
    v = BPFMAN_VARIANTS[variant]
    repo = "bpfman/" + variant.replace(" ", "-").replace(",", "").replace(".", "")
    client = RawClient(registry_plain.url)
    digest = push_bpfman(client, repo, "v1", [tar_gz({v["name"]: program, "README": b"hi"})], v["labels"],
                         docker=v["docker"], index=v["index"])
    ref = registry_plain.ref(repo, "v1")
    pulled = beecli(PLAIN, "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    store = LocalStore(store_dir)
    assert store.program_bytes(store.resolve(ref)) == program
    described = beecli("describe", ref)
    assert described.returncode == 0, described.stderr
    assert "Source:       bpfman image sha256:" in described.stdout
    assert "handle_openat" in described.stdout
    if not v["index"]:
        assert digest in described.stdout  # the digest of the manifest it was read from
    as_json = json.loads(beecli("describe", ref, "--json").stdout)
    assert as_json["annotations"]["dev.bee.source.format"] == "bpfman"


def test_an_inspektor_gadget_image_is_pulled_saying_what_bee_leaves_out(beecli, registry_plain, program: bytes,
                                                                       store_dir: Path) -> None:
    client = RawClient(registry_plain.url)
    push_gadget(client, "gadgets/tiny", "v1", [program], gadget_yaml=GADGET_YAML, wasm=b"\0asm\1\0\0\0")
    ref = registry_plain.ref("gadgets/tiny", "v1")
    pulled = beecli(PLAIN, "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert f"bee: WARNING: {ref}: its Wasm module (the gadget's user-space logic) is not run by bee" in pulled.stderr
    store = LocalStore(store_dir)
    assert store.program_bytes(store.resolve(ref)) == program
    described = beecli("describe", ref).stdout
    assert "Source:       inspektor-gadget image sha256:" in described
    assert "description: opens, from a gadget" in described and "homepageURL: https://example.com/tiny" in described
    push_gadget(client, "gadgets/bare", "v1", [program], gadget_yaml=None)  # the empty config
    assert beecli(PLAIN, "pull", registry_plain.ref("gadgets/bare", "v1")).returncode == 0


def _malformed(client: RawClient, case: str, program: bytes) -> str:
    if case == "two layers":
        push_bpfman(client, "bad/two", "v1", [tar_gz({"a.o": program}), tar_gz({"b.o": program})], NEW_LABELS)
        return "bad/two"
    if case == "path outside":
        push_bpfman(client, "bad/outside", "v1", [tar_gz({"../tiny.o": program})], NEW_LABELS)
        return "bad/outside"
    if case == "link":
        push_bpfman(client, "bad/link", "v1", [tar_gz({"tiny.o": program}, symlinks={"x.o": "/etc/passwd"})],
                    NEW_LABELS)
        return "bad/link"
    if case == "gzip bomb":
        push_bpfman(client, "bad/bomb", "v1", [gzip_bomb(80 << 20)], NEW_LABELS)
        return "bad/bomb"
    if case == "label not JSON":
        push_bpfman(client, "bad/label", "v1", [tar_gz({"tiny.o": program})], {"io.ebpf.programs": "{handle: tp"})
        return "bad/label"
    push_gadget(client, "bad/gadget", "v1", [program, program], gadget_yaml=GADGET_YAML)
    return "bad/gadget"


MALFORMED = {
    "two layers": ("bpfman image with 2 layers",),
    "path outside": ("'../tiny.o', a path outside the layer",),
    "link": ("holds a link", "/etc/passwd"),
    "gzip bomb": ("decompresses to more than 64 MiB",),
    "label not JSON": ("the label io.ebpf.programs", "is not JSON"),
    "two gadget programs": ("Inspektor Gadget image with 2 eBPF program layers",),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_image_is_refused_and_the_store_untouched(case: str, beecli, registry_plain, program: bytes,
                                                              stored, store_snapshot) -> None:
    stored("keep:v1")  # something in the store, compared byte for byte
    repo = _malformed(RawClient(registry_plain.url), case, program)
    before = store_snapshot()
    assert_one_line_error(beecli(PLAIN, "pull", registry_plain.ref(repo, "v1")), *MALFORMED[case])
    assert store_snapshot() == before



@pytest.mark.parametrize("layout", ["bpfman", "gadget"])
def test_programs_of_both_layouts_run_with_kernel_events(layout: str, run_bee, registry_plain, program: bytes,
                                                         tmp_path: Path) -> None:
    client = RawClient(registry_plain.url)
    if layout == "bpfman":
        push_bpfman(client, "runs/bpfman", "v1", [tar_gz({"tiny.o": program})], NEW_LABELS)
    else:
        push_gadget(client, "runs/gadget", "v1", [program], gadget_yaml=GADGET_YAML)
    run = run_bee(registry_plain.ref(f"runs/{layout}", "v1"))
    opener = tmp_path / f"bee{layout}op"
    shutil.copy("/bin/cat", opener)

    def seen() -> bool:
        subprocess.run([str(opener), "/etc/hostname"], capture_output=True, check=False)
        return any(f'"comm": "bee{layout}op"' in line for line in run.stdout_lines)

    run.wait_for(seen, what=f"an event of bee{layout}op")
    run.stop()


def test_a_signed_bpfman_image_verifies_at_pull_and_says_why_it_cannot_run_under_a_key(
        beecli, registry_plain, program: bytes, tmp_path: Path) -> None:
    from tests.registry import cosign

    client = RawClient(registry_plain.url)
    digest = push_bpfman(client, "signed/bpfman", "v1", [tar_gz({"tiny.o": program})], NEW_LABELS)
    key = cosign.new_key()
    pub = tmp_path / "k.pub"
    pub.write_bytes(cosign.public_pem(key))
    data = cosign.payload(f"{registry_plain.host}/signed/bpfman", digest)
    cosign.push_tag_signatures(client, "signed/bpfman", digest, [(cosign.layer(data, cosign.sign(key, data)), data)])
    ref = registry_plain.ref("signed/bpfman", "v1")
    assert beecli(PLAIN, "pull", ref, "--verify-key", str(pub)).returncode == 0
    assert_one_line_error(beecli("verify", ref, "--local", "--key", str(pub)),
                          "was read from a bpfman image", "cannot verify it again from the store")
