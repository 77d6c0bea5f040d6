"""A BPF ring buffer's memory, read in place (x86-64): the pages a reader maps, the records it walks,
and how often a ring was found full. `bee.libbpf.ringbuf.RingBuffer` uses these for the maps whose
handler offers a `record_reader()`, and `FullWatch` for the maps libbpf reads.

The ring's layout is the kernel's (kernel/bpf/ringbuf.c): a consumer page, a producer page, then the
data pages mapped twice in a row so that no record wraps; each record is an 8-byte header (length,
busy and discard bits) and its sample, padded to 8 bytes.
"""

from __future__ import annotations

import mmap
import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from bee.libbpf.ringbuf import BatchHandler

#: `records` holds whole ring records back to back (an 8-byte header, then the sample, padded to 8
#: bytes), all of the reader's sample size; the reader handles them in order, stops at the first
#: whose header is not exactly that size (busy, discarded or another size), and returns how many
#: it handled. It must not keep `records` (the memory is reused) nor raise for bad data.
RecordReader = tuple[int, Callable[[memoryview], int]]

#: Whether maps whose handler has a `record_reader()` are read in place (see the module docstring).
DIRECT_READ = os.uname().machine in ("x86_64", "AMD64") and sys.byteorder == "little"
_BUSY = 1 << 31  # BPF_RINGBUF_BUSY_BIT: reserved, not yet committed
_DISCARD = 1 << 30  # BPF_RINGBUF_DISCARD_BIT
_HEADER = 8  # BPF_RINGBUF_HDR_SZ


def record_stride(sample_size: int) -> int:
    return (sample_size + _HEADER + 7) & ~7


def no_room(pending: int, stride: int, size: int) -> bool:
    """Whether a ring of `size` bytes, `pending` of which are not consumed yet, refuses a record of
    `stride` bytes: the kernel's reserve fails when the producer would get `size` - 1 bytes or more
    ahead of the consumer."""
    return pending + stride > size - 1


class FullWatch:
    """How often a map libbpf reads was found with no room for one more record, as its first sample
    of a read is handed over (libbpf has not moved the consumer yet). The consumer and producer
    positions are mapped read-only, one page each; owns those mappings."""

    def __init__(self, fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self.size = size
        self.count = 0
        self.first = True  # the next sample is the first of a read
        self._consumer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ, offset=0)
        try:
            self._producer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        except BaseException:
            self._consumer.close()
            raise
        self._consumer_pos = memoryview(self._consumer).cast("Q")
        self._producer_pos = memoryview(self._producer).cast("Q")

    def check(self, sample_size: int) -> None:
        self.first = False
        if no_room(self._producer_pos[0] - self._consumer_pos[0], record_stride(sample_size), self.size):
            self.count += 1

    def close(self) -> None:
        self._consumer_pos.release()
        self._producer_pos.release()
        self._consumer.close()
        self._producer.close()


class RingPages:
    """The pages of one RINGBUF map as a reader in place needs them: the consumer page mapped
    read-write, the producer page and twice the data pages (the kernel maps the data twice in a
    row, so no record wraps) read-only. The kernel maps every page at once (about 3 ms for a
    16 MiB ring), so they may be mapped ahead, on another thread (`BpfObject.map_rings`).
    Owns the mappings (closed by `close()`), not the map fd; OSError when the kernel refuses."""

    def __init__(self, fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self.size = size
        self.consumer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        try:
            self.data = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        except BaseException:
            self.consumer.close()
            raise

    def close(self) -> None:
        self.data.close()
        self.consumer.close()


class DirectRing:
    """One RINGBUF map read in place through its `RingPages`, which it owns (closed by `close()`)."""

    def __init__(self, pages: RingPages, name: str, handler: BatchHandler, reader: RecordReader) -> None:
        page = mmap.PAGESIZE
        self.name = name
        self._pages = pages
        self._consumer_pos = memoryview(pages.consumer).cast("Q")  # element 0: one aligned 8-byte access
        data = memoryview(pages.data)
        size = pages.size
        self._producer_pos = data[:8].cast("Q")
        self._records = data[page:]
        self._headers = self._records.cast("I")
        self._mask = size - 1
        self._handler = handler
        self._sample_size, self._read = reader
        self._stride = record_stride(self._sample_size)
        self.full = 0  # reads that found no room for one more record (see RingBuffer.full_counts)

    def drain(self, limit: int) -> int:
        """Handle the committed records (up to about `limit` of them), freeing their space as it
        goes; returns how many samples were handled. A handler's exception is re-raised; the
        records it was given are then left unread."""
        consumer_pos, stride, mask, records = self._consumer_pos, self._stride, self._mask, self._records
        cons = consumer_pos[0]
        prod = self._producer_pos[0]
        if no_room(prod - cons, stride, mask + 1):
            self.full += 1
        handled = 0
        while cons < prod and handled < limit:
            offset = cons & mask
            run = min((prod - cons) // stride, limit - handled)
            if run:
                region = records[offset:offset + run * stride]
                try:
                    done = self._read(region)
                finally:
                    region.release()
                if done:
                    cons += done * stride
                    handled += done
                    consumer_pos[0] = cons
                    if done == run:
                        continue
                    offset = cons & mask
            header = self._headers[offset >> 2]
            if header & _BUSY:
                break  # its producer has not committed it: the kernel wakes us when it does
            length = header & ~(_BUSY | _DISCARD)
            sample = None if header & _DISCARD else records[offset + _HEADER:offset + _HEADER + length].tobytes()
            cons += record_stride(length)
            consumer_pos[0] = cons  # consumed even if its handler raises, as libbpf does
            if sample is not None:
                handled += 1
                self._handler.handle_batch([sample])
        return handled

    def close(self) -> None:
        for view in (self._headers, self._records, self._producer_pos, self._consumer_pos):
            view.release()
        self._pages.close()
