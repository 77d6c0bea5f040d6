# The bee runner: bee, Python and libbpf, no compiler. `bee package` builds program images on it.
#   make runner-image                 (makes dist/wheels, then builds this offline)
#   docker run --rm --privileged -p 9091:9091 bee-runner:VERSION run --no-tty PROGRAM
FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv libbpf1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY dist/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/bee \
 && /opt/bee/bin/pip install --no-cache-dir --no-index --find-links=/tmp/wheels bee \
 && rm -rf /tmp/wheels

ENV PATH=/opt/bee/bin:$PATH
EXPOSE 9091
ENTRYPOINT ["bee"]
CMD ["--help"]
