# Stand-in for python:3.11-slim-bookworm, for machines where no registry serves it:
# Debian's Python 3.11 on the Debian stand-in, with `python` on PATH and the venv module,
# as the official image has them.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update && \
    apt-get install -y --no-install-recommends ca-certificates python3.11 python3.11-venv && \
    rm -rf /var/lib/apt/lists/* && \
    ln -s /usr/bin/python3.11 /usr/local/bin/python && ln -s /usr/bin/python3.11 /usr/local/bin/python3
ENV LANG=C.UTF-8
CMD ["python3"]
