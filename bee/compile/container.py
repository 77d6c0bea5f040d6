"""`bee build` in a container: the builder image compiles with bee's own compile line.

Talks to Docker (or Podman's Docker-compatible socket) through the Docker SDK. The input's
directory is mounted read-only at /usr/src/bpf, the output's directory at /out; the container
runs as the invoking user, so the object belongs to them, and is removed afterwards. A builder
image that is neither present nor pullable is built from the Dockerfile shipped with bee.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bee
from bee.compile.compiler import check_c_source, check_output, make_output_dir
from bee.compile.headers import header_from_btf
from bee.errors import BuildError
from bee.extras import require

BUILDER_REPOSITORY = "bee-builder"
SOURCE_MOUNT = "/usr/src/bpf"
OUTPUT_MOUNT = "/out"
TYPES_MOUNT = "/usr/include/bee-types"  # the user's --btf types, as a vmlinux.h
PODMAN_SOCKETS = ("/run/podman/podman.sock", f"/run/user/{os.getuid()}/podman/podman.sock")

Progress = Callable[[str], None]


def builder_dockerfile() -> Path:
    """The builder Dockerfile shipped with bee (`bee/_builder` installed, `builder/` in a checkout)."""
    package = Path(bee.__file__).resolve().parent
    for candidate in (package / "_builder" / "Dockerfile", package.parent / "builder" / "Dockerfile"):
        if candidate.is_file():
            return candidate
    raise BuildError(f"the builder Dockerfile is missing (looked in {package / '_builder'})")


def _build_inputs() -> list[Path]:
    """What the builder image is made of: its Dockerfile, bee's compile code and headers, and bee's pinned
    kernel types (never the build host's kernel: the image and its tag are the same on every host)."""
    package = Path(bee.__file__).resolve().parent
    compile_code = package / "compile"
    return [builder_dockerfile(), *sorted(compile_code.glob("*.py")), *sorted((compile_code / "include").iterdir()),
            *sorted(p for p in (compile_code / "types").glob("*/*") if p.is_file()), package / "errors.py"]


def default_builder_image() -> str:
    """`bee-builder:<version>-<digest of what goes into it>`: a change of compile code, headers or
    kernel types gives another image, so a stale builder is never used."""
    digest = hashlib.sha256()
    for path in _build_inputs():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())  # names, not paths: host-independent
    return f"{BUILDER_REPOSITORY}:{bee.__version__}-{digest.hexdigest()[:12]}"


def docker_client(builder: str = "docker") -> Any:
    """A Docker SDK client for `builder` (docker: $DOCKER_HOST or the default socket; podman: its socket).

    Raises BuildError with one sentence when the engine cannot be reached.
    """
    # The Docker SDK (bee[build]; with requests, ~100 ms of imports) is imported by the functions that talk
    # to an engine only, so that local builds, `bee package`'s context and the builder image's name need neither.
    import docker
    from docker.errors import DockerException

    kwargs: dict[str, Any] = {}
    if builder == "podman" and not os.environ.get("DOCKER_HOST"):
        socket = next((s for s in PODMAN_SOCKETS if os.path.exists(s)), PODMAN_SOCKETS[0])
        kwargs["base_url"] = f"unix://{socket}"
    try:
        client = docker.DockerClient(**kwargs) if kwargs else docker.from_env()
        client.ping()
    except DockerException as exc:
        where = kwargs.get("base_url") or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        reason = str(exc).split("(")[0].strip().rstrip(":")
        raise BuildError(f"cannot reach {builder} at {where} ({reason}); start {builder} or build with --local") \
            from None
    return client


def _context_tar(dockerfile: Path) -> bytes:
    """The builder's build context: Dockerfile and the `bee` package (with its kernel types), as a tar."""
    buffer = io.BytesIO()
    package = Path(bee.__file__).resolve().parent

    def skip_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if "__pycache__" in info.name or info.name.endswith(".pyc") else info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(dockerfile, arcname="Dockerfile")
        tar.add(package, arcname="bee", filter=skip_caches)
    return buffer.getvalue()


def ensure_builder_image(client: Any, image: str, progress: Progress) -> None:
    """Make sure `image` exists: present, else pulled, else built from bee's Dockerfile."""
    from docker.errors import APIError, ImageNotFound  # the Docker SDK: see docker_client
    from docker.errors import BuildError as DockerBuildError

    try:
        client.images.get(image)
        return
    except ImageNotFound:
        pass
    try:
        progress(f"pulling {image}")
        client.images.pull(image)
        return
    except APIError:
        progress(f"{image} cannot be pulled; building it from bee's Dockerfile (once)")
    context = _context_tar(builder_dockerfile())
    try:
        for chunk in client.api.build(fileobj=io.BytesIO(context), custom_context=True, tag=image, rm=True,
                                      forcerm=True, decode=True):
            if "stream" in chunk and chunk["stream"].strip():
                progress(chunk["stream"].rstrip())
            if "error" in chunk:
                raise BuildError(f"building the builder image {image} failed: {chunk['error'].strip()}")
    except (APIError, DockerBuildError) as exc:
        raise BuildError(f"building the builder image {image} failed: {exc}") from exc


def compile_in_container(source: Path, output: Path, *, image: str, builder: str = "docker",
                         arch: str | None = None, cflags: Sequence[str] = (), btf: Path | None = None,
                         progress: Progress = lambda _: None) -> None:
    """Compile `source` into `output` for `arch` in the builder container, against the image's pinned kernel
    types or the user's `btf` (made into a vmlinux.h here, mounted read-only); raises BuildError with the
    compiler's output (in `.detail`) when the compile fails, or when Docker cannot be reached."""
    from docker.errors import APIError, ImageNotFound  # the Docker SDK: see docker_client

    require("docker", "building in a container", instead="build with --local")
    source, output = Path(source).absolute(), Path(output).absolute()
    check_c_source(source)  # the same refusals as a local build, before Docker is asked for anything
    check_output(source, output)
    make_output_dir(output)
    if not os.access(output.parent, os.W_OK):
        raise BuildError(f"cannot write the output file {output}: Permission denied")
    client = docker_client(builder)
    ensure_builder_image(client, image, progress)
    environment = {"CFLAGS": " ".join(cflags)} if cflags else {}
    if arch:
        environment["BEE_TARGET_ARCH"] = arch
    tmp_name = f".{output.name}.{os.getpid()}.tmp"
    # a list, not a dict: the source and output directories are often the same one
    volumes = [f"{source.parent}:{SOURCE_MOUNT}:ro", f"{output.parent}:{OUTPUT_MOUNT}:rw"]
    if btf is not None:
        header = header_from_btf(btf).absolute()
        volumes.append(f"{header.parent}:{TYPES_MOUNT}:ro")
        environment["BEE_VMLINUX_H"] = f"{TYPES_MOUNT}/{header.name}"
    container = None
    try:
        container = client.containers.run(
            image, [source.name, f"{OUTPUT_MOUNT}/{tmp_name}"], volumes=volumes, environment=environment,
            user=f"{os.getuid()}:{os.getgid()}", working_dir=SOURCE_MOUNT, network_disabled=True, detach=True)
        status = container.wait()
        logs = container.logs(stdout=True, stderr=True).decode(errors="replace").rstrip()
    except ImageNotFound as exc:
        raise BuildError(f"the builder image {image} is missing: {exc.explanation}") from exc
    except APIError as exc:
        raise BuildError(f"the builder container failed to start: {exc.explanation or exc}") from exc
    finally:
        if container is not None:
            with contextlib.suppress(APIError):
                container.remove(force=True)
    tmp = output.parent / tmp_name
    code = status.get("StatusCode", 1)
    if code != 0:
        tmp.unlink(missing_ok=True)
        # the entrypoint prints the compiler's text, then one "Error: ..." line of its own
        lines = logs.splitlines()
        detail = "\n".join(line for line in lines if not line.startswith("Error: ")) or None
        message = next((line[len("Error: "):] for line in reversed(lines) if line.startswith("Error: ")),
                       f"the builder container exited {code}")
        raise BuildError(message, detail=detail)
    try:
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BuildError(f"cannot write the output file {output}: {exc.strerror or exc}") from exc
