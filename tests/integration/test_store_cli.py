"""`bee list`, `tag`, `rm` and `describe` through the real CLI, on our stores and bumblebee's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.goldens import object_bytes
from tests.helpers import DATA, assert_one_line_error

BUMBLEBEE_STORE = DATA / "bumblebee_store"


@pytest.fixture
def bumblebee_store(store_dir: Path) -> Path:
    """A copy of a store laid out exactly as bumblebee writes it, at the path the `bee` fixture uses."""
    shutil.copytree(BUMBLEBEE_STORE, store_dir)
    (store_dir / "README.md").unlink()
    return store_dir


def _rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()[1:]]


def test_lists_a_bumblebee_store(bee, bumblebee_store: Path) -> None:
    proc = bee("list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split() == ["Name", "OS", "OS", "Version", "Arch"]
    assert _rows(proc.stdout) == [
        ["ghcr.io/solo-io/bumblebee/opensnoop:0.0.15", "Linux", "6.1.0-18-amd64", "x86_64"],
        ["my_probe:v1", "Linux", "6.1.0-18-amd64", "x86_64"],
    ]


def test_empty_store_lists_only_the_header(bee) -> None:
    proc = bee("list")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["Name  OS  OS Version  Arch"]


def test_tag_and_rm(bee, bumblebee_store: Path) -> None:
    before = {p.name for p in (bumblebee_store / "blobs" / "sha256").iterdir()}
    assert bee("tag", "my_probe:v1", "localhost:5000/team/probe:v2").returncode == 0
    names = [row[0] for row in _rows(bee("list").stdout)]
    assert names == ["ghcr.io/solo-io/bumblebee/opensnoop:0.0.15", "my_probe:v1", "localhost:5000/team/probe:v2"]
    assert bee("rm", "my_probe:v1").returncode == 0
    # the tag still uses the blobs, so nothing was collected
    assert {p.name for p in (bumblebee_store / "blobs" / "sha256").iterdir()} == before
    assert bee("rm", "localhost:5000/team/probe:v2").returncode == 0
    after = {p.name for p in (bumblebee_store / "blobs" / "sha256").iterdir()}
    assert len(after) < len(before)
    assert [row[0] for row in _rows(bee("list").stdout)] == ["ghcr.io/solo-io/bumblebee/opensnoop:0.0.15"]


@pytest.mark.parametrize("command", [["rm", "nope:v1"], ["tag", "nope:v1", "other:v1"], ["describe", "nope:v1"]])
def test_unknown_ref(bee, bumblebee_store: Path, command: list[str]) -> None:
    assert_one_line_error(bee(*command), "nope:v1 is not in the local store")


def test_a_name_not_stored_says_what_is_stored_of_that_name(bee, bumblebee_store: Path) -> None:
    """Names are matched exactly as typed (Bumblebee's store): `my_probe` is not `my_probe:v1`; bee says which
    names of that repository it has, and that an untagged name is not taken as `:latest`."""
    assert bee("tag", "my_probe:v1", "my_probe:sha256-" + "a" * 64 + ".sig").returncode == 0  # not offered
    assert_one_line_error(bee("describe", "my_probe"), f"my_probe is not in the local store ({bumblebee_store}), "
                          "which holds my_probe:v1 of that name: names are matched exactly as typed; use one of those")
    assert_one_line_error(bee("run", "nothing", "--pull", "never"), "nothing is not in the local store",
                          "(an untagged name is matched as typed, not as nothing:latest); build it with")


def test_pushing_a_name_not_stored_suggests_bee_tag(bee, bumblebee_store: Path) -> None:
    """Before any registry is asked: the push names a stored program of the same short name to tag."""
    assert_one_line_error(bee("push", "localhost:5000/other/my_probe:v3"),
                          "localhost:5000/other/my_probe:v3 is not in the local store",
                          "give one this name first (bee tag my_probe:v1 localhost:5000/other/my_probe:v3), then "
                          "push it")
    assert_one_line_error(bee("push", "localhost:5000/unknown:v1"), "(bee tag NAME:TAG localhost:5000/unknown:v1)")


@pytest.mark.parametrize("ref", ["Foo:bar", "a:b:c", "../../etc/x"])
def test_malformed_tag_target(bee, bumblebee_store: Path, ref: str) -> None:
    proc = bee("tag", "my_probe:v1", ref)
    assert_one_line_error(proc, "invalid reference")
    assert len(json.loads((bumblebee_store / "index.json").read_text())["manifests"]) == 2


@pytest.mark.parametrize("content", ["{not json", '{"schemaVersion": 2, "manifests": {}}', "[]"])
def test_corrupted_index_is_reported_and_left_alone(bee, bumblebee_store: Path, content: str) -> None:
    index = bumblebee_store / "index.json"
    index.write_text(content)
    for command in (["list"], ["tag", "my_probe:v1", "x:v1"], ["rm", "my_probe:v1"], ["describe", "my_probe:v1"]):
        assert_one_line_error(bee(*command), "is corrupted")
    assert index.read_text() == content


def test_version(bee) -> None:
    from bee import __version__

    proc = bee("version")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [__version__, "compatible with Bumblebee v0.0.15: its images, local store and "
                                        "C conventions (and v0.0.13/14's section maps)"]


def test_describe_a_bumblebee_store_entry(bee, bumblebee_store: Path) -> None:
    proc = bee("describe", "my_probe:v1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Name:         my_probe:v1" in out
    assert "Platform:     Linux 6.1.0-18-amd64 x86_64" in out
    assert "tracepoint/syscalls/sys_enter_openat" in out and "syscalls/sys_enter_openat" in out
    assert "print_events  (ringbuf, print" in out
    as_json = json.loads(bee("describe", "my_probe:v1", "--json").stdout)
    assert as_json["platform"] == {"architecture": "x86_64", "os": "Linux", "os.version": "6.1.0-18-amd64"}
    assert [p["section"] for p in as_json["programs"]] == ["tracepoint/syscalls/sys_enter_openat"]
    (events,) = [m for m in as_json["maps"] if m["name"] == "print_events"]
    assert events["output"] == "print" and events["tracked"] is True
    assert events["value_type"] == "struct event" and events["value_fields"]


@pytest.mark.clang  # bee build --local
def test_init_build_list_describe(bee, tmp_path: Path) -> None:
    """The foundation's acceptance line, end to end."""
    source = tmp_path / "p" / "probe.c"
    assert bee("init", "--program-type", "FileSystem", "-f", str(source), input="").returncode == 0
    built = bee("build", str(source), "probe:v1", "--local")
    assert built.returncode == 0, built.stderr
    assert [row[0] for row in _rows(bee("list").stdout)] == ["probe:v1"]
    described = bee("describe", "probe:v1")
    assert described.returncode == 0, described.stderr
    out = described.stdout
    assert "handle_sys_enter_openat" in out or "sys_enter_openat" in out
    assert "tracepoint/syscalls/sys_enter_openat" in out
    assert "print_events  (ringbuf, print" in out
    for field in ("pid", "comm", "fname"):
        assert f"      {field} " in out


def test_describe_a_file_needs_no_store(bee, tmp_path: Path) -> None:
    obj = tmp_path / "hello.o"
    obj.write_bytes(object_bytes("hello"))
    proc = bee("describe", str(obj))
    assert proc.returncode == 0, proc.stderr
    assert f"Name:         {obj}" in proc.stdout and "Digest" not in proc.stdout


def test_describe_rejects_what_is_not_a_bpf_object(bee, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert_one_line_error(bee("describe", str(text)), "is not an ELF file")
    assert_one_line_error(bee("describe", "/bin/true"), "not a BPF object")
    truncated = tmp_path / "cut.o"
    truncated.write_bytes((DATA / "bumblebee_store" / "blobs" / "sha256").joinpath(
        "ab6156cfbb199b26dbcd4fe50be0cd53131d3b446f35280b1f138516d4c421b5").read_bytes()[:200])
    proc = bee("describe", str(truncated))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_describe_a_missing_file_says_so(bee, tmp_path: Path) -> None:
    assert_one_line_error(bee("describe", str(tmp_path / "gone.o")), "gone.o does not exist")
    assert_one_line_error(bee("describe", "./gone.o"), "./gone.o does not exist")


def test_describe_says_what_bee_makes_of_each_map(bee, tmp_path: Path) -> None:
    hist, broken = tmp_path / "hist_kernel.o", tmp_path / "spec_hist.o"
    hist.write_bytes(object_bytes("hist_kernel"))
    broken.write_bytes(object_bytes("spec_hist"))
    out = bee("describe", str(hist)).stdout
    assert ("  log2hist_pcpu  (percpu_hash, log2hist, max_entries 16)\n"
            "    exported: histogram counted in the kernel (summed over CPUs); labels: comm\n"
            "    histogram: log2, 8 slots (le 1, 3, 7, ..., 127, +Inf), no sum\n") in out
    assert ("    exported: histogram counted in the kernel; labels: none (an array of one entry)\n"
            "    histogram: linear, 6 slots of width 2 from 1 (le 2, 4, 6, 8, 10, +Inf), no sum\n") in out
    maps = {m["name"]: m for m in json.loads(bee("describe", "--json", str(broken)).stdout)["maps"]}
    assert maps["linhist_ok"]["histogram"] == "linear, 5 slots of width 25 from -50 (le -26, -1, 24, 49, +Inf), no sum"
    assert maps["linhist_nowidth"]["histogram"] == (
        "bee run refuses it: map linhist_nowidth: declare its slot width as a parameter the program reads, "
        "const volatile u64 linhist_nowidth_width = N;")
    assert maps["counter_stacks"]["tracked"] is False and maps["counter_stacks"]["exported"] is None
    assert maps["counter_stacks"]["note"].startswith("map counter_stacks: type stack_trace is not supported")


# --- --storage naming a file says so, with the fix (not "File exists") ---


@pytest.mark.clang  # the build case compiles before it stores
@pytest.mark.parametrize("below", [False, True])
@pytest.mark.parametrize("command", [["list"], ["build", "HELLO", "h:v1", "--local"]])
def test_storage_that_is_a_file(bee, tmp_path: Path, command: list[str], below: bool) -> None:
    afile = tmp_path / "not-a-store"
    afile.write_text("x\n")
    storage = afile / "sub" if below else afile
    args = [str(DATA / "src" / "hello.c") if a == "HELLO" else a for a in command]
    proc = bee("--storage", str(storage), *args, "-o", str(tmp_path / "h.o")) if "build" in args else \
        bee("--storage", str(storage), *args)
    assert proc.returncode == 1
    where = f" ({afile} is a file)" if below else ""
    assert_one_line_error(proc, f"the local store {storage} is not a directory{where}; point --storage "
                                "(or BEE_STORAGE) at a directory")
    assert afile.read_text() == "x\n"


def test_list_fits_80_columns_and_cuts_digest_references(bee, bumblebee_store: Path) -> None:
    digest = json.loads((bumblebee_store / "index.json").read_text())["manifests"][0]["digest"]
    long_ref = f"ghcr.io/solo-io/bumblebee/opensnoop@{digest}"
    assert bee("tag", "my_probe:v1", long_ref).returncode == 0
    listing = bee("list").stdout.splitlines()
    row = next(line for line in listing if line.startswith("ghcr.io/solo-io/bumblebee/opensnoop@"))
    assert row.split()[0] == f"ghcr.io/solo-io/bumblebee/opensnoop@{digest[7:17]}…"
    assert all(len(line) <= 80 for line in listing), listing
    assert any(line.split()[0] == long_ref for line in bee("list", "--no-trunc").stdout.splitlines())


@pytest.mark.parametrize("command", [["list"], ["run", "x.o", "--no-tty"]], ids=["list", "run (fast path)"])
def test_a_bad_value_from_the_environment_names_its_variable(bee, command: list[str]) -> None:
    """The user typed no --timeout: the message says where the value came from."""
    from_env = bee(*command, env={"BEE_TIMEOUT": "abc"})
    assert from_env.returncode == 2
    assert "Error: Invalid value for '--timeout' (from $BEE_TIMEOUT): 'abc' is not a valid float range." \
        in from_env.stderr.splitlines()
    typed = bee("--timeout", "abc", *command, env={"BEE_TIMEOUT": "5"})
    assert typed.returncode == 2
    assert "Error: Invalid value for '--timeout': 'abc' is not a valid float range." in typed.stderr.splitlines()


def _subcommands(help_text: str) -> list[str]:
    """The command names a help text lists under `Commands:` (first word of each two-space-indented line)."""
    lines = help_text.split("Commands:", 1)[1].splitlines()
    return [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("   ")]


def test_every_help_fits_80_columns(bee) -> None:
    """`bee --help` and each command's (groups' subcommands too) on an 80-column terminal: no line wraps."""
    top = bee("--help", env={"COLUMNS": "80"})
    assert top.returncode == 0
    commands = [[name] for name in _subcommands(top.stdout)]
    assert ["run"] in commands and ["generate-key-pair"] in commands
    for group in (["store"], ["k8s"]):
        commands += [[*group, name] for name in _subcommands(bee(*group, "--help", env={"COLUMNS": "80"}).stdout)]
    assert ["k8s", "manifest"] in commands and ["store", "check"] in commands
    for command in [[], *commands]:
        shown = bee(*command, "--help", env={"COLUMNS": "80"})
        assert shown.returncode == 0, (command, shown.stderr)
        wide = [line for line in shown.stdout.splitlines() if len(line) > 80]
        assert wide == [], (command, wide)


def test_a_program_completes_as_a_stored_name_or_a_file(bee, bumblebee_store: Path) -> None:
    def complete(words: str) -> list[str]:
        proc = bee(env={"_BEE_COMPLETE": "bash_complete", "COMP_WORDS": words,
                        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))})
        assert proc.returncode == 0, proc.stderr
        return [line for line in proc.stdout.splitlines() if line]

    stored = ["plain,ghcr.io/solo-io/bumblebee/opensnoop:0.0.15", "plain,my_probe:v1"]
    assert complete("bee run ") == stored
    assert complete("bee describe my") == ["plain,my_probe:v1"]
    assert complete("bee run ./") == ["file,./"]  # a path: the shell completes files
    assert complete("bee describe probe") == ["file,probe"]  # no stored name starts so: perhaps probe.o
    assert complete("bee rm probe") == []  # rm takes stored names only
