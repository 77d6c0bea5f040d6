"""Links: one attachment of a program to a hook, detached when closed.

Three kinds share the `Link` interface: a libbpf `struct bpf_link` (auto-attach, XDP, uprobe),
a raw BPF link fd (XDP with explicit mode flags) and a TC filter (netlink, not a BPF link:
it survives the process unless closed). The object that made a link closes it at the latest
when the object closes; closing twice is harmless.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from bee.libbpf import _ffi
from bee.libbpf.constants import TC_EGRESS, TC_INGRESS
from bee.libbpf.errors import ClosedError, LibbpfError, describe_errno

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

ffi = _ffi.ffi


class Link:
    """An attached program. `close()` detaches it; usable as a context manager."""

    def __init__(self, program: str, kind: str) -> None:
        self.program = program
        self.kind = kind
        self._closed = False
        self._on_close: Callable[[Link], None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "attached"
        return f"<Link {self.kind} {self.program} {state}>"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def fd(self) -> int:
        """The BPF link fd (owned by the link); LibbpfError for a TC filter, which has none."""
        self._check()
        return self._fd()

    def pin(self, path: str) -> None:
        """Pin the link on bpffs: the attachment then outlives this process until unpinned."""
        self._check()
        self._pin(path)

    def close(self) -> None:
        """Detach. Idempotent; errors while detaching are logged, not raised."""
        if self._closed:
            return
        self._closed = True
        try:
            self._release()
        finally:
            if self._on_close is not None:
                self._on_close(self)
                self._on_close = None

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self) -> None:
        if self._closed:
            raise ClosedError(f"the link of program {self.program} is closed")

    def _fd(self) -> int:
        raise LibbpfError(f"the {self.kind} attachment of program {self.program} has no link fd")

    def _pin(self, path: str) -> None:
        raise LibbpfError(f"the {self.kind} attachment of program {self.program} cannot be pinned")

    def _release(self) -> None:
        raise NotImplementedError


class LibbpfLink(Link):
    """A `struct bpf_link *` made by libbpf; destroyed on close."""

    def __init__(self, program: str, kind: str, ptr: Any) -> None:
        super().__init__(program, kind)
        self._ptr = ptr

    def _fd(self) -> int:
        return int(_ffi.lib().bpf_link__fd(self._ptr))

    def _pin(self, path: str) -> None:
        ret = _ffi.lib().bpf_link__pin(self._ptr, path.encode())
        if ret < 0:
            raise LibbpfError(f"cannot pin the link of program {self.program} at {path}: {describe_errno(-ret)}",
                              errno=-ret)

    def _release(self) -> None:
        ptr, self._ptr = self._ptr, ffi.NULL
        ret = _ffi.lib().bpf_link__destroy(ptr)
        if ret < 0:
            _ffi.logger.warning("detaching program %s failed: %s", self.program, describe_errno(-ret))


class FdLink(Link):
    """A BPF link fd from BPF_LINK_CREATE; closing the fd detaches (unless pinned)."""

    def __init__(self, program: str, kind: str, fd: int) -> None:
        super().__init__(program, kind)
        self._link_fd = fd

    def _fd(self) -> int:
        return self._link_fd

    def _pin(self, path: str) -> None:
        raise LibbpfError(f"the {self.kind} link of program {self.program} cannot be pinned by bee")

    def _release(self) -> None:
        fd, self._link_fd = self._link_fd, -1
        os.close(fd)


# clsact qdiscs this process created, with the number of its TC links using each, by ifindex.
_clsact_lock = threading.Lock()
_clsact_users: dict[int, int] = {}


class TcLink(Link):
    """A TC filter on an interface's clsact qdisc (ingress or egress), removed on close.

    bee creates the clsact qdisc when the interface has none, and removes it again when the
    last of this process's filters on that interface is removed. TC filters are not BPF links:
    a killed process leaves them in place.
    """

    def __init__(self, program: str, hook: Any, handle: int, priority: int, created_qdisc: bool) -> None:
        direction = "ingress" if hook.attach_point == TC_INGRESS else "egress"
        super().__init__(program, f"tc {direction}")
        self._hook = hook
        self.ifindex = int(hook.ifindex)
        self.handle = handle
        self.priority = priority
        with _clsact_lock:
            # counted: this filter sits on a qdisc this process created
            self._counted = created_qdisc or self.ifindex in _clsact_users
            if self._counted:
                _clsact_users[self.ifindex] = _clsact_users.get(self.ifindex, 0) + 1

    def _release(self) -> None:
        lib = _ffi.lib()
        opts = ffi.new("struct bpf_tc_opts *")
        opts.sz = ffi.sizeof("struct bpf_tc_opts")
        opts.handle, opts.priority = self.handle, self.priority
        ret = lib.bpf_tc_detach(self._hook, opts)
        if ret < 0:
            _ffi.logger.warning("removing the TC filter of program %s failed: %s", self.program,
                                describe_errno(-ret))
        if not self._counted:
            return
        with _clsact_lock:
            users = _clsact_users.get(self.ifindex, 1) - 1
            if users > 0:
                _clsact_users[self.ifindex] = users
                return
            _clsact_users.pop(self.ifindex, None)
        self._hook.attach_point = TC_INGRESS | TC_EGRESS  # both: remove the clsact qdisc itself
        ret = lib.bpf_tc_hook_destroy(self._hook)
        if ret < 0:
            _ffi.logger.debug("removing the clsact qdisc of interface %d failed: %s", self.ifindex,
                              describe_errno(-ret))
