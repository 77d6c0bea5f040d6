"""Boot Debian's arm64 cloud kernel in qemu-system-aarch64 (TCG) with bee in an initramfs, run shell steps.

Everything comes from Debian's arm64 packages (`apt-get download`, `dpkg -x`): the kernel of
`linux-image-cloud-arm64`, a static busybox, Python 3.11, libbpf and the libraries they load. They
make a base initramfs, cached under `cache_dir()` and rebuilt only when a package version changes.
Each boot appends a second, small archive: bee's package (from this checkout), the objects and an
/init script that mounts proc, sysfs, devtmpfs, tracefs, debugfs and bpffs, runs the steps between
`=== BEE-ARM64 ... ===` markers on the serial console and powers off.

    python -m tests.arm64.vm --object opensnoop.o -- 'cat /etc/hostname'

boots the VM with `opensnoop.o` in /bee-arm64/ and runs each command given after `--` as a step.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KERNEL_META = "linux-image-cloud-arm64"
# Debian's arm64 packages of the userland: a shell, Python and what bee's runner loads (libbpf by dlopen;
# libbz2 and liblzma for the bz2 and lzma modules shutil imports, which bee imports after attaching).
USERLAND = (
    "busybox-static", "libc6", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib",
    "python3-cffi-backend", "libffi8", "libexpat1", "zlib1g", "libbz2-1.0", "liblzma5", "libbpf1", "libelf1",
    "libzstd1",
)
# Third-party pure-Python packages of bee's run path copied from this Python's site-packages
# (none: `bee run` of a file imports only bee and the standard library, and Debian's _cffi_backend).
SITE_PACKAGES: tuple[str, ...] = ()
BASE_FORMAT = "1"  # bump when the base archive's layout changes, so cached ones are rebuilt
VM_DIR = "/bee-arm64"  # where the per-boot files go inside the VM
MARK = "=== BEE-ARM64"
CPU = "cortex-a57"  # ARMv8.0, nothing costly to emulate (`max` is as fast only with pauth-impdef=on)
PRUNE = ("usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/lintian", "usr/share/info",
         "usr/share/bug", "usr/share/bash-completion", "usr/lib/aarch64-linux-gnu/gconv")


class VMError(RuntimeError):
    """The VM could not be assembled or booted."""


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[arm64-vm] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """$BEE_ARM64_CACHE, else $XDG_CACHE_HOME/bee-arm64 (~/.cache/bee-arm64)."""
    if os.environ.get("BEE_ARM64_CACHE"):
        return Path(os.environ["BEE_ARM64_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bee-arm64"


def qemu_binary() -> str | None:
    """qemu-system-aarch64 (Debian: qemu-system-arm), or None."""
    return shutil.which("qemu-system-aarch64")


def missing_tools() -> str | None:
    """Why this machine cannot assemble and boot the VM, or None."""
    if qemu_binary() is None:
        return "needs qemu-system-aarch64 (apt-get install qemu-system-arm)"
    for tool in ("apt-get", "apt-cache", "dpkg", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"needs {tool} (a Debian or Ubuntu host)"
    return None


def _run(cmd: Sequence[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VMError(f"{shlex.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def ensure_arm64_apt() -> None:
    """Make apt know arm64 packages: `dpkg --add-architecture arm64` and `apt-get update` when needed."""
    if "arm64" in _run(["dpkg", "--print-foreign-architectures"]).split() and _arm64_lists_present():
        return
    log("adding the arm64 architecture to dpkg and updating apt's lists")
    if "arm64" not in _run(["dpkg", "--print-foreign-architectures"]).split():
        _run(["dpkg", "--add-architecture", "arm64"])
    apt_update()


def _arm64_lists_present() -> bool:
    proc = subprocess.run(["apt-cache", "show", f"{KERNEL_META}:arm64"], capture_output=True, check=False)
    return proc.returncode == 0


def apt_update() -> None:
    """apt-get update (lists name the versions the mirror still has)."""
    _run(["apt-get", "update", "-q"])


def kernel_package() -> str:
    """The versioned kernel package `linux-image-cloud-arm64:arm64` depends on today."""
    out = _run(["apt-cache", "depends", f"{KERNEL_META}:arm64"])
    found = re.search(r"Depends: (linux-image-[\w.+-]+)(?::arm64)?\s", out + "\n")
    if not found:
        raise VMError(f"no linux-image dependency in `apt-cache depends {KERNEL_META}:arm64`:\n{out}")
    return found.group(1)


def _uris(packages: Iterable[str]) -> dict[str, tuple[str, str]]:
    """file name -> (URI, "SHA256:...") of each package's candidate version (`apt-get download --print-uris`)."""
    out = _run(["apt-get", "download", "--print-uris", *(f"{p}:arm64" for p in packages)])
    found = {name: (uri, digest) for uri, name, digest in re.findall(r"^'([^']+)' (\S+) \d+ (\S+)$", out, re.MULTILINE)}
    if not found:
        raise VMError(f"apt-get download --print-uris printed no packages:\n{out}")
    return found


def _intact(path: Path, digest: str) -> bool:
    if not path.exists():
        return False
    algorithm, _, want = digest.partition(":")
    if algorithm.lower() not in hashlib.algorithms_available:
        return True
    hasher = hashlib.new(algorithm.lower())
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == want


def download(packages: Sequence[str], dest: Path) -> list[Path]:
    """The .deb files of `packages` (arm64) in `dest`, downloading only those not there (intact) yet."""
    dest.mkdir(parents=True, exist_ok=True)
    files = _uris(packages)
    if len(files) != len(packages):
        raise VMError(f"apt resolves {len(packages)} packages to {len(files)} files: {sorted(files)}")
    missing = [name for name, (_, digest) in files.items() if not _intact(dest / name, digest)]
    if missing:
        log(f"downloading {len(missing)} arm64 packages into {dest}")
        _run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
              *(name.split("_", 1)[0] + ":arm64" for name in missing)], cwd=dest)
    return sorted(dest / name for name in files)


@dataclasses.dataclass(frozen=True)
class Kit:
    """What a boot needs: the kernel Image, the cached base initramfs and the kernel's release."""

    kernel: Path
    base: Path
    release: str


def prepare(cache: Path | None = None) -> Kit:
    """Download the packages and make the kernel Image and base initramfs; cached, idempotent."""
    cache = cache or cache_dir()
    ensure_arm64_apt()
    try:
        kpkg = kernel_package()
        debs = download([kpkg, *USERLAND], cache / "debs")
    except VMError as exc:  # stale lists: the mirror no longer has the versions they name
        log(f"updating apt's lists after: {exc}")
        apt_update()
        kpkg = kernel_package()
        debs = download([kpkg, *USERLAND], cache / "debs")
    kdeb = next(d for d in debs if d.name.startswith(kpkg + "_"))
    userland = [d for d in debs if d != kdeb]
    kernel_dir = cache / "kernel" / kdeb.stem
    if not kernel_dir.exists():
        kernel_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="part-", dir=kernel_dir.parent)
        try:
            _run(["dpkg-deb", "-x", str(kdeb), tmp])
            for entry in Path(tmp).iterdir():  # the Image and config in boot/ are all a boot needs (no modules)
                if entry.name != "boot":
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            os.rename(tmp, kernel_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    images = sorted((kernel_dir / "boot").glob("vmlinuz-*"))
    if not images:
        raise VMError(f"no /boot/vmlinuz-* in {kdeb.name}")
    key = hashlib.sha256("\n".join([BASE_FORMAT, *(d.name for d in userland)]).encode()).hexdigest()[:16]
    base = cache / f"base-{key}.cpio.gz"
    if not base.exists():
        _make_base(userland, base)
    _forget(cache, keep={*debs, base, kernel_dir})
    return Kit(kernel=images[0], base=base, release=images[0].name.removeprefix("vmlinuz-"))


def _forget(cache: Path, keep: set[Path]) -> None:
    """Delete the cached packages, kernels and base archives of versions no longer current."""
    for stale in (*(cache / "debs").glob("*.deb"), *(cache / "kernel").glob("*"), *cache.glob("base-*.cpio.gz")):
        if stale not in keep:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)


def _make_base(debs: Sequence[Path], out: Path) -> None:
    log(f"making the base initramfs {out.name} from {len(debs)} packages")
    with tempfile.TemporaryDirectory(prefix="bee-arm64-root-") as tmp:
        root = Path(tmp) / "root"
        for deb in debs:
            _run(["dpkg-deb", "-x", str(deb), str(root)])
        for rel in PRUNE:
            shutil.rmtree(root / rel, ignore_errors=True)
        # Bytecode of the standard library, made here: the same Python version writes the same .pyc on
        # any architecture, and compiling at every boot would cost seconds under emulation.
        if sys.version_info[:2] == (3, 11):
            _compile(root / "usr/lib/python3.11")
        part = Path(tmp) / "base.cpio.gz"
        with gzip.open(part, "wb", compresslevel=6) as raw:
            writer = Cpio(raw.write)
            writer.add_tree(root)
            writer.add_node("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
            writer.finish()
        _pad(part, 512)  # the next archive must start 4-aligned; zeros between archives are skipped
        shutil.copyfile(part, out.with_name(out.name + f".{os.getpid()}"))
        os.replace(out.with_name(out.name + f".{os.getpid()}"), out)


def _compile(tree: Path) -> None:
    """Unchecked-hash .pyc next to every module of `tree` (valid whatever the files' times)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash",
                    str(tree)], capture_output=True, check=False)


def _pad(path: Path, block: int) -> None:
    size = path.stat().st_size
    if size % block:
        with path.open("ab") as f:
            f.write(b"\0" * (block - size % block))


class Cpio:
    """A writer of the kernel's initramfs format (cpio "newc"), owner root for every entry."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self.write = write
        self.ino = 1
        self.dirs: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", mtime: int = 0, rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, mtime, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.ino += 1
        write = self.write
        write(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        write(data + b"\0" * (-len(data) % 4))

    def add_dir(self, name: str, mode: int = 0o755) -> None:
        """A directory and its missing parents."""
        name = name.strip("/")
        parts = name.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub and sub not in self.dirs:
                self.dirs.add(sub)
                self._entry(sub, stat.S_IFDIR | mode)

    def add_file(self, name: str, data: bytes, mode: int = 0o644, mtime: int = 0) -> None:
        """A regular file (its parent directories are added first)."""
        name = name.strip("/")
        if "/" in name:
            self.add_dir(name.rsplit("/", 1)[0])
        self._entry(name, stat.S_IFREG | mode, data, mtime)

    def add_symlink(self, name: str, target: str) -> None:
        """A symbolic link."""
        name = name.strip("/")
        if "/" in name:
            self.add_dir(name.rsplit("/", 1)[0])
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def add_node(self, name: str, mode: int, rdev: tuple[int, int]) -> None:
        """A device node (the kernel opens /dev/console before /init runs)."""
        name = name.strip("/")
        self.add_dir(name.rsplit("/", 1)[0])
        self._entry(name, mode, rdev=rdev)

    def add_tree(self, root: Path, prefix: str = "") -> None:
        """Everything under `root` (files, symlinks, directories), as `prefix/...`."""
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            here = Path(dirpath)
            rel = here.relative_to(root).as_posix()
            base = "/".join(p for p in (prefix.strip("/"), "" if rel == "." else rel) if p)
            if base:
                self.add_dir(base, stat.S_IMODE(here.stat().st_mode))
            for name in sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]:
                path = here / name
                target = f"{base}/{name}" if base else name
                st = path.lstat()
                if stat.S_ISLNK(st.st_mode):
                    self.add_symlink(target, os.readlink(path))
                elif stat.S_ISREG(st.st_mode):
                    self.add_file(target, path.read_bytes(), stat.S_IMODE(st.st_mode), int(st.st_mtime))
            dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]

    def finish(self) -> None:
        """The trailer entry that ends the archive."""
        self._entry("TRAILER!!!", 0)


INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /root /usr/local/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
ip link set lo up
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TMPDIR=/tmp PYTHONPATH={vm_dir}/site
echo "{mark} INIT uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r) machine=$(uname -m) ==="
mark() {{ echo "{mark} $* uptime=$(cut -d' ' -f1 /proc/uptime) ==="; }}
past() {{ [ "$(cut -d. -f1 /proc/uptime)" -ge "$1" ]; }}
cd {vm_dir}
. {vm_dir}/steps.sh
mark DONE
sync
poweroff -f
"""

BEE = """#!/usr/bin/python3.11
import sys
from bee.cli import main
sys.exit(main())
"""

# One `bee run` step: start it in the background, wait for its "attached" line (or its end), run the
# trigger, wait for a line of its output to match, stop it with SIGINT (SIGKILL 20 s later) and print
# what it wrote. A SIGINT'd bee exits 0 (docs/running.md); rc is what `wait` reports.
BEE_STEP = """
mark "BEGIN {name}"
bee run {args} >/tmp/{name}.out 2>/tmp/{name}.err &
pid=$!
deadline=$(( $(cut -d. -f1 /proc/uptime) + {timeout} ))
until grep -q '^bee: attached' /tmp/{name}.err || ! kill -0 $pid 2>/dev/null || past $deadline; do
  sleep 0.1
done
if grep -q '^bee: attached' /tmp/{name}.err; then mark "ATTACHED {name}"; else mark "NOT-ATTACHED {name}"; fi
( {trigger} ) >/tmp/{name}.trigger 2>&1
echo "trigger rc=$?"
deadline=$(( $(cut -d. -f1 /proc/uptime) + {timeout} ))
until grep -qE {wait_for} /tmp/{name}.out || ! kill -0 $pid 2>/dev/null || past $deadline; do
  sleep 0.1
done
if grep -qE {wait_for} /tmp/{name}.out; then mark "SEEN {name}"; else mark "NOT-SEEN {name}"; fi
{after}
kill -INT $pid 2>/dev/null
deadline=$(( $(cut -d. -f1 /proc/uptime) + 20 ))
while kill -0 $pid 2>/dev/null && ! past $deadline; do sleep 0.1; done
if kill -0 $pid 2>/dev/null; then echo "bee did not exit within 20 s of SIGINT: killed"; kill -KILL $pid; fi
wait $pid
rc=$?
echo "--- trigger"; cat /tmp/{name}.trigger
echo "--- stderr"; cat /tmp/{name}.err
echo "--- stdout"; cat /tmp/{name}.out
echo "{mark} END {name} rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime) ==="
"""


def bee_step(name: str, args: str, trigger: str, wait_for: str, after: str = ":", timeout: float = 120) -> str:
    """The shell of one `bee run ARGS` step: `trigger` runs once it is attached, then the step waits (at
    most `timeout` s) for an output line matching the ERE `wait_for`, runs `after` and stops bee."""
    return BEE_STEP.format(name=name, args=args, trigger=trigger, wait_for=shlex.quote(wait_for), after=after,
                           timeout=int(timeout), mark=MARK)


def payload(out: Path, steps: str, objects: Sequence[Path] = (), files: dict[str, bytes] | None = None) -> None:
    """The per-boot archive: /init, bee (this checkout's package, compiled), the objects and the steps."""
    with tempfile.TemporaryDirectory(prefix="bee-arm64-site-") as tmp:
        site = Path(tmp)
        shutil.copytree(REPO / "bee", site / "bee", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        for package in SITE_PACKAGES:
            src = next((Path(p) / package for p in sys.path if p and (Path(p) / package).exists()), None)
            if src is None:
                raise VMError(f"package {package} not found on this Python's path")
            shutil.copytree(src, site / package, ignore=shutil.ignore_patterns("__pycache__"))
        if sys.version_info[:2] == (3, 11):
            _compile(site)
        with out.open("wb") as raw:
            writer = Cpio(raw.write)
            writer.add_file("init", INIT.format(vm_dir=VM_DIR, mark=MARK).encode(), 0o755)
            writer.add_file("usr/local/bin/bee", BEE.encode(), 0o755)
            writer.add_tree(site, f"{VM_DIR.strip('/')}/site")
            for obj in objects:
                writer.add_file(f"{VM_DIR.strip('/')}/{obj.name}", obj.read_bytes())
            for name, data in (files or {}).items():
                writer.add_file(f"{VM_DIR.strip('/')}/{name}", data, 0o755)
            writer.add_file(f"{VM_DIR.strip('/')}/steps.sh", steps.encode(), 0o755)
            writer.finish()


@dataclasses.dataclass
class Boot:
    """A finished boot: the console lines, the host's seconds since QEMU started at each marker line,
    QEMU's exit status (None when it was killed) and the wall time."""

    lines: list[str]
    marks: dict[str, float]
    returncode: int | None
    seconds: float
    timed_out: bool
    payload_bytes: int = 0

    @property
    def console(self) -> str:
        """The whole serial console."""
        return "\n".join(self.lines)

    def tail(self, n: int = 80) -> str:
        """The last `n` console lines, for assertion messages."""
        return "\n".join(self.lines[-n:])

    def section(self, name: str) -> Section:
        """The output of step `name` (between its BEGIN and END markers)."""
        begin = f"{MARK} BEGIN {name} "
        start = next((i for i, line in enumerate(self.lines) if line.startswith(begin)), None)
        if start is None:
            raise AssertionError(f"no step {name} on the console:\n{self.tail()}")
        end_re = re.compile(rf"^{re.escape(MARK)} END {re.escape(name)} rc=(\d+) uptime=([\d.]+)")
        for i in range(start + 1, len(self.lines)):
            found = end_re.match(self.lines[i])
            if found:
                return Section(name, self.lines[start:i + 1], int(found.group(1)))
        raise AssertionError(f"step {name} did not end:\n{self.tail()}")


@dataclasses.dataclass
class Section:
    """One step's console lines, its parts (--- trigger/stderr/stdout) and bee's exit status."""

    name: str
    lines: list[str]
    rc: int

    def part(self, which: str) -> list[str]:
        """The lines printed after `--- which` up to the next part or the END marker."""
        out: list[str] = []
        inside = False
        for line in self.lines:
            if line.startswith("--- "):
                inside = line == f"--- {which}"
            elif line.startswith(MARK):
                inside = False
            elif inside:
                out.append(line)
        return out

    def uptime(self, marker: str) -> float:
        """The VM's uptime printed with the `marker` (BEGIN, ATTACHED, SEEN, END) of this step."""
        pattern = re.compile(rf"^{re.escape(MARK)} {marker} {re.escape(self.name)}\b.*uptime=([\d.]+)")
        for line in self.lines:
            found = pattern.match(line)
            if found:
                return float(found.group(1))
        raise AssertionError(f"no {marker} marker in step {self.name}")

    @property
    def text(self) -> str:
        """The step's lines as one text."""
        return "\n".join(self.lines)


def qemu_command(kit: Kit, initrd: Path, cpu: str = CPU, smp: int = 2, memory: int = 2048) -> list[str]:
    """qemu-system-aarch64 booting `kit`'s kernel on `initrd` with the serial console on stdio."""
    return [qemu_binary() or "qemu-system-aarch64", "-M", "virt", "-cpu", cpu, "-smp", str(smp), "-m", str(memory),
            "-accel", "tcg,thread=multi", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", str(kit.kernel), "-initrd", str(initrd),
            "-append", "console=ttyAMA0 rdinit=/init panic=-1 loglevel=4"]


def boot(kit: Kit, steps: str, objects: Sequence[Path] = (), timeout: float = 600, echo: bool = False,
         cpu: str = CPU, files: dict[str, bytes] | None = None) -> Boot:
    """Boot the VM with `objects` and `steps` (shell run by /init), until it powers off or `timeout` s pass."""
    with tempfile.TemporaryDirectory(prefix="bee-arm64-boot-") as tmp:
        extra = Path(tmp) / "payload.cpio"
        payload(extra, steps, objects, files)
        initrd = Path(tmp) / "initrd"
        with initrd.open("wb") as out:
            for part in (kit.base, extra):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        cmd = qemu_command(kit, initrd, cpu=cpu)
        lines: list[str] = []
        marks: dict[str, float] = {}
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def read() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip("\r\n").replace("\r", "")
                lines.append(line)
                if line.startswith(MARK):
                    marks.setdefault(line.split(" uptime=")[0], time.monotonic() - start)
                if echo:
                    print(line, flush=True)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=10)
        return Boot(lines, marks, None if timed_out else proc.returncode, time.monotonic() - start, timed_out,
                    extra.stat().st_size)


def main(argv: Sequence[str] | None = None) -> int:
    """Boot the VM with the given objects and run each command after `--` as a step; print the console."""
    parser = argparse.ArgumentParser(prog="python -m tests.arm64.vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--object", action="append", type=Path, default=[], help="a file for /bee-arm64/")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--cpu", default=CPU, help="QEMU's -cpu [default: %(default)s]")
    parser.add_argument("--prepare", action="store_true", help="only download and make the cached files")
    parser.add_argument("commands", nargs="*", help="shell commands, one step each")
    args = parser.parse_args(argv)
    kit = prepare()
    if args.prepare:
        log(f"kernel {kit.kernel} ({kit.release}), base initramfs {kit.base} ({kit.base.stat().st_size} bytes)")
        return 0
    end = 'echo "{mark} END step{i} rc=$? uptime=$(cut -d" " -f1 /proc/uptime) ==="'
    steps = "".join(f'mark "BEGIN step{i}"\n{cmd}\n{end.format(mark=MARK, i=i)}\n'
                    for i, cmd in enumerate(args.commands))
    result = boot(kit, steps, args.object, timeout=args.timeout, echo=True, cpu=args.cpu)
    log(f"QEMU ended after {result.seconds:.1f} s, status {result.returncode}; markers (s after start):")
    for mark, seconds in result.marks.items():
        log(f"  {seconds:7.1f}  {mark}")
    return 0 if result.returncode == 0 and f"{MARK} DONE" in result.marks else 1


if __name__ == "__main__":
    sys.exit(main())
