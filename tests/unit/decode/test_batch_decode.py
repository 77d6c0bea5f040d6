"""A batch decoded in one generated loop (`Decoder.compile_batch`) gives exactly the records `decode`
gives one event at a time, for every struct of the decoder test programs (unions, nested structs,
arrays of structs, bitfields), both byte orders, from samples and from ring records read in place."""

from __future__ import annotations

import random
import struct
import sys
from collections.abc import Callable

import pytest

from bee.decode import Decoder, compile_decoder
from bee.elf import ObjectSpec
from bee.elf.btf_types import Composite

PROGRAMS = ("layout", "values", "ipv6")


@pytest.fixture(scope="module")
def decoders(spec: Callable[[str], ObjectSpec], layout_be: ObjectSpec) -> list[Decoder]:
    found = []
    for program in [spec(name) for name in PROGRAMS] + [layout_be]:
        assert program.btf is not None
        found += [compile_decoder(program.btf, t.id, endian=program.endian) for t in program.btf
                  if isinstance(t, Composite) and t.name and t.size]
    assert len(found) >= 10 and any(len(d.formats) > 1 for d in found)  # some with overlapping reads
    return found


def _samples(decoder: Decoder, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return ([rng.randbytes(decoder.size) for _ in range(80)]
            + [bytes(decoder.size), b"\xff" * decoder.size, rng.randbytes(decoder.size + 5)])


def _region(samples: list[bytes], size: int, lengths: list[int]) -> memoryview:
    stride = (size + 15) // 8 * 8
    return memoryview(b"".join(struct.pack("=I4x", length) + data[:size] + bytes(stride - 8 - size)
                               for data, length in zip(samples, lengths, strict=True)))


def test_a_batch_decodes_to_the_records_of_each_event(decoders: list[Decoder]) -> None:
    for decoder in decoders:
        assert decoder.compile_batch is not None
        samples = _samples(decoder, seed=len(decoder.fields))
        mixed = samples[:40] + [samples[40][:decoder.size - 1], b""] + samples[40:]
        decode_all = decoder.compile_batch(False)
        assert decode_all is not None
        records, short = decode_all(mixed)
        assert short == 2
        assert repr(records) == repr([decoder.decode(data) for data in samples]), decoder.type_name  # NaN too


def test_records_read_in_place_decode_to_the_records_of_each_event(decoders: list[Decoder]) -> None:
    compiled = 0
    for decoder in decoders:
        assert decoder.compile_batch is not None
        decode_records = decoder.compile_batch(True)
        if decode_records is None:
            assert len(decoder.formats) > 1  # overlapping reads: one format cannot split them
            continue
        if decoder.formats[0][0] != ("<" if sys.byteorder == "little" else ">"):
            continue  # records are read in place only in the host's byte order
        compiled += 1
        samples = _samples(decoder, seed=3)
        expected = [decoder.decode(data[:decoder.size]) for data in samples]
        got = decode_records(_region(samples, decoder.size, [decoder.size] * len(samples)))
        assert repr(got) == repr(expected), decoder.type_name
        lengths = [decoder.size] * 7 + [decoder.size | 1 << 31] + [decoder.size] * 4  # the 8th is busy
        assert repr(decode_records(_region(samples[:12], decoder.size, lengths))) == repr(expected[:7])
    assert compiled >= 5
