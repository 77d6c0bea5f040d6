"""`bee build --platform` and bee's pinned kernel types, through the real CLI: one object per platform, an OCI
image index in the store, the same bytes whatever the build host's kernel, and the refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from bee.compile import kernel_types
from bee.oci import mediatypes
from bee.oci.index import goarch
from bee.oci.store import LocalStore
from tests.helpers import REPO, assert_one_line_error

OPENSNOOP = REPO / "examples" / "opensnoop" / "opensnoop.c"
# What `bee build examples/opensnoop/opensnoop.c --local --platform linux/amd64,linux/arm64` stores, on any
# build host with Debian 12's clang 14 and libbpf 1.1 headers (the pinned toolchain of tests/data/obj): the
# digest of its image index, and of each object. Made on a Linux 6.18 host; the pinned types are Linux 6.1's.
OPENSNOOP_INDEX = "sha256:e69df931bdede9d036128d176d25eaffc5c60889ef5a2c903bc0d4e49a19e953"
OPENSNOOP_OBJECTS = {"amd64": "16f7618834b74293a32d593460fdccc9d900f078d472487a53d0755b271747a4",
                     "arm64": "0969c646c5e40d3d53b121a76948ef61fafe2959c468d9ea6a0d037f5a6291d9"}

# A kprobe reading its second argument: PT_REGS_PARM2 is a different register on each architecture.
KPROBE = """\
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_core_read.h"

struct event { u32 pid; u32 ppid; char fname[64]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); __type(value, struct event); }
    print_opens SEC(".maps");

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(open_entry, int dfd, const char *filename)
{
    struct event *e = bpf_ringbuf_reserve(&print_opens, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->ppid = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), real_parent, tgid);
    bpf_probe_read_user_str(e->fname, sizeof(e->fname), filename);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


def _index(store: Path, ref: str) -> dict:
    entry = LocalStore(store).resolve(ref)
    return json.loads(LocalStore(store).manifest_bytes(entry))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_pinned_types_are_what_their_source_record_says() -> None:
    """Each shipped vmlinux.h.xz unpacks to the header its SOURCE names (checksum and size), from a Debian
    kernel package of its architecture."""
    assert kernel_types.pinned_arches() == ("arm64", "x86")
    for arch, debian in (("x86", "amd64"), ("arm64", "arm64")):
        source = kernel_types.source_of(arch)
        assert source["architecture"] == debian and source["package"].startswith("linux-image-")
        header = kernel_types._unpack(arch)
        assert hashlib.sha256(header).hexdigest() == source["vmlinux-h-sha256"]
        assert header.count(b"\n") == int(source["vmlinux-h-lines"])
        assert b"struct task_struct {" in header and b"struct pt_regs {" in header
    # the two sets really are two architectures' types
    assert b"struct user_pt_regs {" in kernel_types._unpack("arm64")
    assert b"struct user_pt_regs {" not in kernel_types._unpack("x86")


@pytest.mark.clang
def test_two_platforms_give_two_objects_and_an_index(bee, tmp_path: Path, store_dir: Path) -> None:
    source = tmp_path / "opensnoop.c"
    shutil.copy(OPENSNOOP, source)
    proc = bee("build", str(source), "snoop:multi", "--local", "--platform", "linux/amd64,linux/arm64")
    assert proc.returncode == 0, proc.stderr
    objects = [tmp_path / "opensnoop.amd64.o", tmp_path / "opensnoop.arm64.o"]
    assert f"to {objects[0]}, {objects[1]}" in proc.stderr and "an image index" in proc.stderr
    assert not (tmp_path / "opensnoop.o").exists()
    index = _index(store_dir, "snoop:multi")
    assert index["mediaType"] == mediatypes.INDEX
    assert [m["platform"] for m in index["manifests"]] == [{"architecture": "amd64", "os": "linux"},
                                                           {"architecture": "arm64", "os": "linux"}]
    store = LocalStore(store_dir)
    entry = store.resolve("snoop:multi")
    assert entry.is_index and entry.digest == OPENSNOOP_INDEX  # the same bytes on every build host
    for child, path, arch in zip(store.platforms(entry), objects, ("amd64", "arm64"), strict=True):
        assert store.program_bytes(child) == path.read_bytes()  # each manifest carries its own object
        assert _sha(path) == OPENSNOOP_OBJECTS[arch]
    listing = bee("list").stdout.splitlines()
    assert listing[1].split() == ["snoop:multi", "linux", "amd64,arm64"]
    described = bee("describe", "snoop:multi")
    assert "Platforms:    linux/amd64, linux/arm64 (an image index" in described.stdout
    assert json.loads(bee("describe", "snoop:multi", "--json").stdout)["platforms"] == ["linux/amd64", "linux/arm64"]
    # bee package of the index packages this machine's program as one manifest (the image runs it)
    import io
    import tarfile

    from bee.compile.package import package_context

    with tarfile.open(fileobj=io.BytesIO(package_context(store_dir, "snoop:multi", "bee-runner:x"))) as tar:
        packaged = json.loads(tar.extractfile("store/index.json").read())  # type: ignore[union-attr]
        names = tar.getnames()
    (descriptor,) = packaged["manifests"]
    host_child = store.for_platform(entry)
    assert (descriptor["digest"], descriptor["platform"]["architecture"]) == (host_child.digest, goarch())
    assert f"store/blobs/sha256/{entry.digest.split(':')[1]}" not in names  # not the index
    # removing the name removes every blob of the index
    assert bee("rm", "snoop:multi").returncode == 0
    assert not list((store_dir / "blobs" / "sha256").iterdir())


@pytest.mark.clang
def test_the_target_architecture_reaches_the_compiler(bee, tmp_path: Path) -> None:
    """A kprobe's PT_REGS_PARM2 compiles to another register offset for arm64: the objects differ, and each
    matches what a one-platform --arch build gives."""
    source = tmp_path / "kopen.c"
    source.write_text(KPROBE)
    both = bee("build", str(source), "--local", "--binary-only", "--platform", "linux/amd64", "--platform",
               "linux/arm64")
    assert both.returncode == 0, both.stderr
    amd64, arm64 = (tmp_path / "kopen.amd64.o").read_bytes(), (tmp_path / "kopen.arm64.o").read_bytes()
    assert amd64 != arm64
    for arch, expected in (("x86_64", amd64), ("aarch64", arm64)):
        one = bee("build", str(source), "--local", "--binary-only", "--arch", arch, "-o", str(tmp_path / "one.o"))
        assert one.returncode == 0, one.stderr
        assert (tmp_path / "one.o").read_bytes() == expected


@pytest.mark.clang
def test_the_build_hosts_kernel_types_change_nothing_unless_asked_for(bee, tmp_path: Path) -> None:
    """Two type sources standing in for two build hosts: this host's own BTF (what bee used to compile against)
    and bee's pinned types give different objects for a CO-RE program reading `struct task_struct` (which
    differs between Linux 6.1 and this host's kernel), so the types reach the object; the default build
    gives the pinned bytes whatever this host runs (the golden digest of opensnoop above)."""
    source = tmp_path / "kopen.c"
    source.write_text(KPROBE)
    default = bee("build", str(source), "--local", "--binary-only", "-o", str(tmp_path / "pinned.o"))
    host = bee("build", str(source), "--local", "--binary-only", "-o", str(tmp_path / "host.o"),
               "--btf", "linux/amd64=/sys/kernel/btf/vmlinux")
    assert default.returncode == 0 and host.returncode == 0, default.stderr + host.stderr
    assert (tmp_path / "host.o").read_bytes() != (tmp_path / "pinned.o").read_bytes()
    snoop = tmp_path / "opensnoop.c"
    shutil.copy(OPENSNOOP, snoop)
    assert bee("build", str(snoop), "--local", "--binary-only", "-o", str(tmp_path / "snoop.o")).returncode == 0
    assert _sha(tmp_path / "snoop.o") == OPENSNOOP_OBJECTS["amd64"]
    # a vmlinux.h given as such is used as it is (the BTF above was made into one, in the cache)
    header = tmp_path / "types" / "vmlinux.h"
    header.parent.mkdir()
    header.write_bytes(kernel_types._unpack("x86"))
    given = bee("build", str(source), "--local", "--binary-only", "-o", str(tmp_path / "given.o"),
                "--btf", f"linux/amd64={header}")
    assert given.returncode == 0, given.stderr
    assert (tmp_path / "given.o").read_bytes() == (tmp_path / "pinned.o").read_bytes()


@pytest.mark.clang
@pytest.mark.kernel
def test_run_refuses_a_program_of_another_architecture(bee, tmp_path: Path, store_dir: Path) -> None:
    source = tmp_path / "opensnoop.c"
    shutil.copy(OPENSNOOP, source)
    assert bee("build", str(source), "snoop:arm64", "--local", "--platform", "linux/arm64").returncode == 0
    entry = LocalStore(store_dir).resolve("snoop:arm64")
    assert not entry.is_index and entry.platform is not None and entry.platform.architecture == "aarch64"
    refused = bee("run", "snoop:arm64", "--no-tty")
    assert_one_line_error(refused, "snoop:arm64 was built for linux/arm64; this machine is linux/amd64",
                          "bee build --platform linux/arm64,linux/amd64")
    no_types = bee("build", str(source), "snoop:arm-only", "--local", "--platform", "linux/arm64,linux/arm")
    assert_one_line_error(no_types, "bee has no kernel types for linux/arm (it has them for linux/amd64, linux/arm64); "
                          "give them with --btf linux/arm=FILE")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opensnoop.c", "opensnoop.o", "store"]  # nothing compiled
    header = tmp_path / "types" / "vmlinux.h"  # any types will do to compile opensnoop's tracepoints
    header.parent.mkdir()
    header.write_bytes(kernel_types._unpack("arm64"))
    built = bee("build", str(source), "snoop:arm-only", "--local", "--platform", "linux/arm64,linux/arm",
                "--btf", f"linux/arm={header}")
    assert built.returncode == 0, built.stderr
    missing = bee("run", "snoop:arm-only", "--no-tty")
    assert_one_line_error(missing, "snoop:arm-only was built for linux/arm64, linux/arm, not for linux/amd64")


@pytest.mark.parametrize(("args", "message"), [
    (["--platform", "linux/vax"], "platform linux/vax: unknown architecture 'vax'"),
    (["--platform", "windows/amd64"], "platform windows/amd64: eBPF programs run on linux only"),
    (["--platform", "amd64"], "invalid platform 'amd64': expected OS/ARCH"),
    (["--platform", "linux/amd64,linux/x86_64"], "--platform names linux/amd64 twice"),
    (["--platform", "linux/arm64", "--arch", "x86"], "give --platform or --arch, not both"),
    (["--platform", "linux/arm64", "--btf", "linux/amd64=/sys/kernel/btf/vmlinux"],
     "--btf names linux/amd64, which this build does not target (linux/arm64)"),
    (["--btf", "vmlinux.btf"], "--btf 'vmlinux.btf': expected PLATFORM=FILE"),
    (["--btf", "linux/amd64=/nonexistent.btf"], "--btf linux/amd64=/nonexistent.btf: /nonexistent.btf is not a file"),
    (["--platform", "linux/amd64,linux/arm64", "--build-script", "b.sh"], "--build-script builds one object"),
])
def test_platform_refusals_before_any_compile(bee, tmp_path: Path, store_dir: Path, args: list[str],
                                              message: str) -> None:
    source = tmp_path / "opensnoop.c"
    shutil.copy(OPENSNOOP, source)
    (tmp_path / "b.sh").write_text("exit 1\n")
    proc = bee("build", str(source), "x:v1", "--local", *args)
    assert proc.returncode == 2
    assert_one_line_error(proc, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.sh", "opensnoop.c"]  # no object, no store


@pytest.mark.clang
def test_btf_that_is_neither_btf_nor_a_header_is_one_sentence(bee, tmp_path: Path) -> None:
    source = tmp_path / "opensnoop.c"
    shutil.copy(OPENSNOOP, source)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage\x00" * 10)
    proc = bee("build", str(source), "--local", "--binary-only", "--btf", f"linux/amd64={junk}")
    assert_one_line_error(proc, f"{junk} is neither raw BTF (as /sys/kernel/btf/vmlinux) nor a C header")


def test_platform_completion_offers_the_platforms_bee_has_types_for(bee) -> None:
    def complete(words: str) -> list[str]:
        proc = bee(env={"COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1),
                        "_BEE_COMPLETE": "bash_complete"})
        assert proc.returncode == 0, proc.stderr
        return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]

    assert complete("bee build x.c --platform l") == ["linux/amd64", "linux/arm64"]
    assert complete("bee build x.c --platform linux/amd64,") == ["linux/amd64,linux/arm64"]
