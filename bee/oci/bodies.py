"""Bodies to and from a registry: uploads that report progress, downloads bounded as they arrive.

`read_limited` refuses a body over its limit (announced or actually sent) without reading the rest;
`chunks` yields what arrives (`read1`), so stalls and cuts can say how many bytes came.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
import urllib3.exceptions

from bee.oci.errors import IntegrityError
from bee.oci.progress import Task

READ_CHUNK = 1 << 16


class UploadBody:
    """Bytes sent as a request body in blocks, reporting each block to a progress task."""

    def __init__(self, data: bytes, task: Task) -> None:
        self._view = memoryview(data)
        self._pos = 0
        self._task = task

    def __len__(self) -> int:
        return len(self._view)

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(READ_CHUNK):
            yield block

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        block = bytes(self._view[self._pos:end])
        self._pos = end
        self._task.advance(len(block))
        return block


def chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives (`read1`: whatever is there, so progress and stall messages count every
    byte), with urllib3's errors turned into requests' as `iter_content` does."""
    try:
        while chunk := response.raw.read1(READ_CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.ConnectionError(exc) from exc


def read_limited(response: requests.Response, limit: int, what: str, task: Task | None, bound: str,
                  received_out: list[int] | None = None) -> bytes:
    """The response body, refusing more than `limit` bytes (announced or actually sent); `bound` says why.

    `received_out[0]`, when given, is kept at the count of bytes received so far (for messages).
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise IntegrityError(f"{what} is {int(declared)} bytes, more than {bound}")
    parts: list[bytes] = []
    received = 0
    for chunk in chunks(response):
        received += len(chunk)
        if received_out is not None:
            received_out[0] = received
        if received > limit:
            raise IntegrityError(f"{what} is more than {bound}")
        parts.append(chunk)
        if task is not None:
            task.advance(len(chunk))
    return b"".join(parts)
