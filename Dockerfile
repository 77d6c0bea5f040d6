# The bee runner: bee's base install and its sign and web extras (what `bee run` needs, signatures verified
# included: no Docker SDK, templates or interactive view), Python and libbpf; no compiler, no pip.
# `bee package` builds program images on it.
#   make runner-image                 (makes dist/wheels, then builds this offline)
#   docker run --rm --privileged -p 9091:9091 bee-runner:VERSION run --no-tty PROGRAM

# Stage 1: the virtualenv, installed from the wheels with no network; pip leaves it afterwards.
FROM debian:bookworm-slim AS install
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY dist/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/bee \
 && /opt/bee/bin/pip install --no-cache-dir --no-index --find-links=/tmp/wheels 'bee[sign,web]' \
 && /opt/bee/bin/pip uninstall -y -q pip setuptools

# Stage 2: the image. Packages come without their docs, manuals and translations, and apt's
# downloaded packages and caches go in the same step.
FROM debian:bookworm-slim
RUN printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      'path-exclude /usr/share/man/*' 'path-exclude /usr/share/locale/*' > /etc/dpkg/dpkg.cfg.d/bee-runner \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 libbpf1 ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY --from=install /opt/bee /opt/bee

ENV PATH=/opt/bee/bin:$PATH
EXPOSE 9091
ENTRYPOINT ["bee"]
CMD ["--help"]
