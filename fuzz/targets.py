"""The fuzz targets: each takes arbitrary bytes and drives one parser of bee through its public boundary.

The contract every target checks is the one issue-level contract of bee's parsers: for any input the
outcome is a value or a `BeeError` (one sentence for the user). `run_one(name, data)` returns None or the
`BeeError`; any other exception escapes and is a finding. Hangs and unbounded memory are caught by the
driver (`fuzz/run.py`: libFuzzer's per-input timeout and RSS limit), not here.

Nothing here needs root, the kernel or the network: files are written only under a private temporary
directory made at import (removed at exit). Seeds come from `fuzz/corpus/<target>/` (committed) and from
the repository's own test objects; `seeds(name)` lists them.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bee.errors import BeeError

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
CORPUS = FUZZ / "corpus"
REGRESSIONS = FUZZ / "regressions"
OBJECTS = REPO / "tests" / "data" / "obj"
MAX_INPUT = 1 << 16  # bytes libFuzzer may grow an input to (objects in tests/data/obj are under 17 KiB)

_scratch = Path(tempfile.mkdtemp(prefix="bee-fuzz-"))
atexit.register(shutil.rmtree, _scratch, True)


def _text(data: bytes) -> str:
    """The input as the text a user or a server could send (invalid UTF-8 replaced, as bee reads it)."""
    return data.decode("utf-8", "replace")


def _file(data: bytes, name: str) -> Path:
    path = _scratch / name
    path.write_bytes(data)
    return path


# -- ELF objects -------------------------------------------------------------------------------------


def elf_reader(data: bytes) -> None:
    """`read_elf` on any bytes, then every section's data and symbols, as `describe` and the loader walk them."""
    from bee.elf.elf import read_elf

    elf = read_elf(data, "fuzz.o", require_bpf=False)
    for section in elf.sections:
        if section.in_file:
            elf.section_data(section)
        elf.symbols_in(section)


def object_spec(data: bytes) -> None:
    """What `bee describe FILE` and `bee run FILE` do before the kernel: the object's spec (programs, maps,
    BTF, parameters, histogram layouts), its description as text and JSON, and whether it runs here."""
    from bee.commands.describe import render
    from bee.describe import describe_spec
    from bee.elf.spec import host_problem, load_spec

    spec = load_spec(data, "fuzz.o")
    host_problem(spec)
    spec.kernel_btf_needs()
    description = describe_spec(spec, "fuzz.o", len(data))
    json.dumps(description.to_json())
    with contextlib.redirect_stdout(io.StringIO()):
        render(description)


def legacy_sections(data: bytes) -> None:
    """The legacy-section normaliser (`.maps.<kind>` merged into `.maps`); its output must read back."""
    from bee.elf.elf import read_elf
    from bee.elf.normalize import merge_map_sections

    merged = merge_map_sections(data, "fuzz.o")
    if merged is not data:
        read_elf(merged, "merged fuzz.o")


def ringbuf_btf(data: bytes) -> None:
    """The ring-buffer BTF rewrite; a rewritten object must still parse, BTF included."""
    from bee.elf.btf import parse_btf
    from bee.elf.elf import read_elf
    from bee.elf.ringbuf_btf import untype_ring_buffers

    rewritten = untype_ring_buffers(data, "fuzz.o")
    if rewritten is not data:
        elf = read_elf(rewritten, "rewritten fuzz.o")
        section = elf.section(".BTF")
        assert section is not None, "the rewrite lost .BTF"
        parse_btf(elf.section_data(section))


# -- BTF and the type decoder ------------------------------------------------------------------------

_DECODE_LIMIT = 4096  # bytes of sample data decoded per type
_TYPES_LIMIT = 256  # types per BTF blob given to the decoder


def btf(data: bytes) -> None:
    """`parse_btf` on a raw `.BTF` section, then every type's name and size, and the decoder compiled for
    each (as for a map's key or value) decoding sample bytes. A type the decoder refuses (a function, a
    variable) is a refusal of that type only: the next one is tried."""
    from bee.decode.decoder import compile_decoder
    from bee.elf.btf import parse_btf

    parsed = parse_btf(data)
    endian = "little" if parsed.endian == "<" else "big"
    for t in parsed.types[1:_TYPES_LIMIT]:
        parsed.type_name(t.id)
        try:
            size = parsed.size_of(t.id)
            decoder = compile_decoder(parsed, t.id, endian=endian)
        except BeeError:
            continue
        sample = bytes(range(256)) * (min(max(size, decoder.size), _DECODE_LIMIT) // 256 + 1)
        if decoder.size <= len(sample):
            decoder.decode(sample)


def _tricky_decoders() -> tuple[Callable[[bytes], object], ...]:
    """Decoders of every struct and union of the test objects with tricky layouts (bitfields, unions,
    nested structs, arrays of structs, ip addresses, enums, durations), both byte orders."""
    from bee.decode.decoder import compile_decoder
    from bee.elf.btf import parse_btf
    from bee.elf.btf_types import Struct, Union

    decoders = []
    for stem in ("dec_layout", "dec_layout_be", "dec_values", "dec_ipv6", "opensnoop", "lb_ringbuf_be"):
        raw = _btf_section(OBJECTS / f"{stem}.o")
        assert raw is not None
        parsed = parse_btf(raw)
        endian = "little" if parsed.endian == "<" else "big"
        for t in parsed.types:
            if not (isinstance(t, (Struct, Union)) and t.name and t.size):
                continue
            try:
                decoder = compile_decoder(parsed, t.id, endian=endian)
            except BeeError:  # a type bee refuses to decode (the btf target covers those)
                continue
            decoders.append(decoder.decode)
    return tuple(decoders)


_decoders: tuple[Callable[[bytes], object], ...] = ()


def event_decoder(data: bytes) -> None:
    """Event bytes of any content and length decoded by real decoders (first byte picks which), and the
    result written as a JSON log line and as text, as the event log does."""
    from bee.sinks.lines import text_value

    global _decoders
    if not _decoders:
        _decoders = _tricky_decoders()
    if not data:
        return
    decode = _decoders[data[0] % len(_decoders)]
    record = decode(data[1:])
    json.dumps(record, default=str, allow_nan=True)
    for value in record.values():
        text_value(value)


# -- OCI documents and references ----------------------------------------------------------------------


def reference(data: bytes) -> None:
    """The reference parser (`bee pull REF`, `bee run REF`, runner configs); what it parsed, written
    back as `name[:tag][@digest]`, must parse to the same parts."""
    from bee.oci.reference import parse_reference

    parsed = parse_reference(_text(data))
    text = parsed.name + (f":{parsed.tag}" if parsed.tag else "") + (f"@{parsed.digest}" if parsed.digest else "")
    again = parse_reference(text)
    parts = (parsed.registry, parsed.repository, parsed.tag, parsed.digest)
    assert (again.registry, again.repository, again.tag, again.digest) == parts, (parsed, again)


_CONTENT_TYPES = (None, "application/json", "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.oci.image.index.v1+json", "text/html; charset=utf-8")


def manifest(data: bytes) -> None:
    """A registry's answer to a manifest request (first byte picks the Content-Type): classified, then
    checked as a program manifest or searched for this host's platform, as `bee pull` does."""
    from bee.oci.artifact import classify, program_check, select_platform
    from bee.oci.mediatypes import INDEX

    if not data:
        return
    content_type = _CONTENT_TYPES[data[0] % len(_CONTENT_TYPES)]
    fetched = classify(data[1:], content_type, "fuzz.example/p:v1")
    if fetched.media_type == INDEX or "manifests" in fetched.document:
        for machine in ("x86_64", "aarch64"):
            with contextlib.suppress(BeeError):
                select_platform(fetched, "fuzz.example/p:v1", machine)
    else:
        program_check(fetched, "fuzz.example/p:v1")


def store_index(data: bytes) -> None:
    """A local store whose `index.json` holds these bytes: `bee list`, and `bee describe`/`run` of a name."""
    from bee.oci.store import LocalStore

    root = _scratch / "store"
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_bytes(data)
    store = LocalStore(root)
    for entry in store.entries():
        str(entry)
    with contextlib.suppress(BeeError):
        store.resolve("localhost/fuzz:v1")


def docker_config(data: bytes) -> None:
    """A Docker-format credentials file (`~/.docker/config.json`, `bee login`'s own) looked up for a host,
    without running credential helpers; then a `WWW-Authenticate` header as a registry would send it."""
    from bee.oci import auth

    path = _file(data, "config.json")
    config = auth.read_config(path)
    if config is not None:
        # credential helpers are programs (docker-credential-NAME): their lookup is tested elsewhere
        plain = {key: value for key, value in config.items() if key not in ("credHelpers", "credsStore")}
        for host in ("ghcr.io", "localhost:5000", "docker.io"):
            auth.credentials_in_config(plain, host, path)
    with contextlib.suppress(ValueError):  # its contract: the registry client turns it into RegistryAuthError
        auth.parse_www_authenticate(_text(data))


# -- metrics ---------------------------------------------------------------------------------------------


def metric_labels(data: bytes) -> None:
    """Field names and values of any text exposed as a series: the exposition must parse with
    prometheus_client's parser and give back exactly the values bee was given."""
    from prometheus_client.parser import text_string_to_metric_families

    from bee.sinks.families import CounterFamily, HistogramFamily, label_value

    parts = _text(data).split("\x00")
    names, values = parts[: len(parts) // 2], parts[len(parts) // 2:]
    names = names[: len(values)]
    values = values[: len(names)]
    counter = CounterFamily(f"counter_{parts[0]}", parts[-1], names)
    counter.inc(tuple(values), len(data))
    histogram = HistogramFamily(f"hist_{parts[-1]}", parts[0], names)
    histogram.observe(tuple(values), len(values))
    out: list[str] = []
    counter.render(out)
    histogram.render(out)
    text = "".join(out)
    families = list(text_string_to_metric_families(text))
    assert [f.type for f in families] == ["counter", "histogram"], text
    sample = families[0].samples[0]
    assert sorted(sample.labels.values()) == sorted(label_value(v) for v in values), (sample, values, text)
    assert len(sample.labels) == len(names), (sample, names)


# -- runner config and parameters ------------------------------------------------------------------------


def runner_config(data: bytes) -> None:
    """`bee run --config FILE` on a file of these bytes: read and validated (no kernel, no store)."""
    from bee.run.config import load_config

    load_config(_file(data, "runner.yaml"))


_SIGNATURE_PARSERS = ("payload", "signature manifest", "referrers index", "policy", "public key", "private key")


def signature(data: bytes) -> None:
    """What signature checking reads from a registry or a file, chosen by the first byte: a simple signing
    payload, a `.sig` manifest's layers, a referrers index, a policy file, a public or a private key file
    (password `pw`). Each must give a value or one SignatureError/ConfigError sentence."""
    from bee.oci.sign.envelope import referrer_descriptors, signature_layers
    from bee.oci.sign.keys import load_private_key, load_public_key
    from bee.oci.sign.payload import parse_payload
    from bee.oci.sign.policy import load_policy

    if not data:
        return
    kind, body = _SIGNATURE_PARSERS[data[0] % len(_SIGNATURE_PARSERS)], data[1:]
    if kind == "payload":
        parse_payload(body, "the payload")
    elif kind == "signature manifest":
        signature_layers(body, "the manifest", subject="sha256:" + "0" * 64 if len(body) % 2 else None)
    elif kind == "referrers index":
        referrer_descriptors(body, "the index")
    elif kind == "policy":
        load_policy(_file(body, "policy.yaml"))
    elif kind == "public key":
        load_public_key(_file(body, "key.pub"))
    else:
        load_private_key(_file(body, "key.key"), lambda: b"pw")


def image_layout(data: bytes) -> None:
    """What reading bpfman and Inspektor Gadget images parses, chosen by the first byte: a tar+gzip layer
    (the object taken out safely), an image config's io.ebpf.* labels, a gadget.yaml."""
    from bee.oci.layouts.bpfman import ebpf_labels, read_bpfman
    from bee.oci.layouts.gadget import read_gadget
    from bee.oci.layouts.tarlayer import single_object

    if not data:
        return
    kind, body = data[0] % 3, data[1:]
    if kind == 0:
        single_object(body, "the layer")
        return
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "0" * 64, "size": 0}
    if kind == 1:
        labels = ebpf_labels(body, "the image")
        if labels:  # the layer then holds no object: refused after the labels were read
            read_bpfman({"layers": [layer]}, labels, "sha256:" + "1" * 64, lambda _: b"", "the image")
        return
    ebpf = {**layer, "mediaType": "application/vnd.gadget.ebpf.program.v1+binary"}
    read_gadget({"layers": [ebpf]}, body, "sha256:" + "1" * 64, lambda _: b"not an ELF", "the gadget")


_web_files: Path | None = None


def _web_directory() -> Path:
    """A directory with a real key and self-signed certificate (server.key, server.crt, also as ca.crt), so
    that fuzzed web configs naming them reach the TLS set-up; made once."""
    global _web_files
    if _web_files is None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        directory = _scratch / "web"
        directory.mkdir()
        pem = cert.public_bytes(serialization.Encoding.PEM)
        (directory / "server.crt").write_bytes(pem)
        (directory / "ca.crt").write_bytes(pem)
        (directory / "server.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        _web_files = directory
    return _web_files


_WEB_USERS: dict[str, bytes] = {}


def web_config(data: bytes) -> None:
    """The metrics endpoint's protection, chosen by the first byte: a `--web-config` file (next to a real
    certificate and key it may name), or an `Authorization` header's value checked against a config with one
    user (what any client can send: must be allowed or not, never raise)."""
    from bee.sinks.webconfig import WebConfig, load_web_config

    if not data:
        return
    if data[0] % 2 == 0:
        path = _web_directory() / "web.yml"
        path.write_bytes(data[1:])
        load_web_config(path)
        return
    if not _WEB_USERS:
        import bcrypt

        _WEB_USERS["prometheus"] = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4))
    header = data[1:].decode("latin-1")  # as bee's server reads a header line
    allowed = WebConfig(users=_WEB_USERS).allowed(header)
    if allowed and header.strip() != "Basic cHJvbWV0aGV1czpzZWNyZXQ=":
        import base64

        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        assert user == "prometheus" and password.encode()[:72] == b"secret", header


@dataclass(frozen=True)
class _ParamObject:
    spec: object
    names: tuple[str, ...]


_param_objects: tuple[_ParamObject, ...] = ()


def parameter_objects() -> tuple[_ParamObject, ...]:
    """tests/data/obj/params.o and params_be.o parsed, with their parameter names (loaded once)."""
    from bee.elf.spec import load_spec
    from bee.elf.variables import parameters

    global _param_objects
    if not _param_objects:
        loaded = []
        for stem in ("params", "params_be"):
            spec = load_spec((OBJECTS / f"{stem}.o").read_bytes(), stem)
            found = parameters(spec)
            assert found is not None
            loaded.append(_ParamObject(spec, found.names))
        _param_objects = tuple(loaded)
    return _param_objects


def param_value(data: bytes) -> None:
    """`--param NAME=VALUE` with any value for each parameter of tests/data/obj/params.o (every kind:
    integers of each width, bool, enums, char[N], ip addresses, durations, arrays), both byte orders.
    The first byte picks the object, the second the parameter."""
    from bee.params.assign import rodata_image

    if len(data) < 2:
        return
    objects = parameter_objects()
    target = objects[data[0] % len(objects)]
    name = target.names[data[1] % len(target.names)]
    image = rodata_image(target.spec, {name: _text(data[2:])}, "fuzz")  # type: ignore[arg-type]
    assert image is not None


# -- the registry of targets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    objects: bool = False  # seeded with the test objects too
    btf_sections: bool = False  # seeded with their .BTF sections


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("elf_reader", elf_reader, objects=True),
    Target("object_spec", object_spec, objects=True),
    Target("legacy_sections", legacy_sections, objects=True),
    Target("ringbuf_btf", ringbuf_btf, objects=True),
    Target("btf", btf, btf_sections=True),
    Target("event_decoder", event_decoder),
    Target("reference", reference),
    Target("manifest", manifest),
    Target("store_index", store_index),
    Target("docker_config", docker_config),
    Target("metric_labels", metric_labels),
    Target("runner_config", runner_config),
    Target("param_value", param_value),
    Target("signature", signature),
    Target("image_layout", image_layout),
    Target("web_config", web_config),
)}


def run_one(name: str, data: bytes) -> BeeError | None:
    """Run target `name` on `data`: None for a value, the BeeError for a refusal; anything else raises."""
    try:
        TARGETS[name].run(data)
    except BeeError as exc:
        return exc
    return None


def _btf_section(path: Path) -> bytes | None:
    from bee.elf.elf import read_elf

    elf = read_elf(path.read_bytes(), path.name, require_bpf=False)
    section = elf.section(".BTF")
    return elf.section_data(section) if section is not None else None


def seeds(name: str) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) of every seed of target `name`: its committed corpus, then the test objects (or their
    `.BTF` sections) when the target reads objects. Regression inputs are listed by `regressions`."""
    target = TARGETS[name]
    directory = CORPUS / name
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            yield f"corpus/{name}/{path.name}", path.read_bytes()
    if target.objects or target.btf_sections:
        for path in sorted(OBJECTS.glob("*.o")):
            data = _btf_section(path) if target.btf_sections else path.read_bytes()
            if data is not None:
                yield f"tests/data/obj/{path.name}", data


def regressions(name: str) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) of every committed input that once broke target `name`."""
    directory = REGRESSIONS / name
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            yield f"regressions/{name}/{path.name}", path.read_bytes()

