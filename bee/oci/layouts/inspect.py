"""What bee can tell from a program read from another layout before storing it: the maps it will not
export (names without a Bumblebee prefix) and Inspektor Gadget's declarations, as notices."""

from __future__ import annotations

from bee.errors import ElfError
from bee.oci.errors import UnsupportedArtifactError


def program_notices(elf: bytes, what: str) -> tuple[str, ...]:
    """Notices about the object `elf` of `what`; UnsupportedArtifactError when it is not an eBPF object."""
    from bee.elf.spec import load_spec

    try:
        spec = load_spec(elf, what)
    except ElfError as exc:
        raise UnsupportedArtifactError(f"the program of {what} cannot be read: {exc.message}") from None
    notices = []
    quiet = [m.name for m in spec.maps if not m.tracked and not m.name.startswith(".") and not m.unsupported]
    if quiet:
        notices.append(f"{what}: maps {', '.join(quiet)} follow no Bumblebee prefix (print_, counter_, gauge_, "
                       "hist_, ...), so bee does not export them")
    declarations = sorted({s.name for s in spec.elf.symbols if s.name.startswith("gadget_")})
    if declarations:
        shown = ", ".join(declarations[:4]) + (", ..." if len(declarations) > 4 else "")
        notices.append(f"{what}: its Inspektor Gadget declarations ({shown}) mean nothing to bee: the gadget's "
                       "tracers, parameters and data sources are not set up, only its maps named for bee "
                       "are exported")
    return tuple(notices)
