"""BTF type → compiled decoder: raw map keys, values and ring-buffer events → presentation values.

`compile_decoder(btf, type_id)` does the BTF work once; `Decoder.decode(data)` is then one
`struct` unpack plus a few expressions per event. No kernel needed.

Imports `bee.elf` (BTF types), `bee.errors` and `bee.records` only; never `bee.libbpf` (checked by
import-linter). On `bee run`'s start-up path (docs/dev/startup.md).
"""

from bee.decode.decoder import SCALAR_FIELD, Decoder, compile_decoder
from bee.decode.duration import format_duration
from bee.decode.errors import DecodeError
from bee.decode.values import Value

__all__ = ["SCALAR_FIELD", "DecodeError", "Decoder", "Value", "compile_decoder", "format_duration"]
