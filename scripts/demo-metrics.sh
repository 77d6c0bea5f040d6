#!/usr/bin/env bash
# make demo: after DELAY seconds, print a few of the ebpf_solo_io_ series bee serves on PORT (the programs'
# own metrics, next to bee's bee_* ones), prefixed "metrics:", so the demo shows them without another terminal.
port=${1:-9091}
delay=${2:-3}
sleep "$delay"
python3 - "$port" <<'PY'
import sys
import urllib.request

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
except OSError as exc:
    print(f"metrics: cannot read http://127.0.0.1:{sys.argv[1]}/metrics ({exc})", file=sys.stderr)
    sys.exit(0)
series = [line for line in lines if line.startswith("ebpf_solo_io_")]
for line in series[:6]:
    print(f"metrics: {line}", flush=True)
print(f"metrics: ... {len(series)} ebpf_solo_io_ series in all", flush=True)
PY
