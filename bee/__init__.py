"""bee: build, ship and run eBPF programs as OCI images, compatible with Bumblebee."""

__version__ = "0.1.0"
