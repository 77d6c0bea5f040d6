"""Outputs: what each tracked map of a program becomes (event log lines, metrics, view rows).

`factory.make_outputs(spec, sinks)` makes one output per tracked map from a table keyed by
(map type, output kind); `ring` holds the ring-buffer outputs (fed by the ring-buffer reader),
`hashmap` the hash-map outputs (fed by the poller), `decoders` the compiled BTF decoders they share.
"""

from bee.run.outputs.decoders import RecordDecoder, hash_value_format, record_decoder
from bee.run.outputs.factory import ProgramOutputs, Sinks, make_outputs
from bee.run.outputs.hashmap import HashCounter, HashGauge, HashOutput, HashPrint
from bee.run.outputs.ring import RingCounter, RingHistogram, RingOutput, RingPrint

__all__ = [
    "HashCounter", "HashGauge", "HashOutput", "HashPrint", "ProgramOutputs", "RecordDecoder", "RingCounter",
    "RingHistogram", "RingOutput", "RingPrint", "Sinks", "hash_value_format", "make_outputs", "record_decoder",
]
