# Stand-in for golang:1.26-bookworm, for machines where no registry serves it: the Debian
# stand-in with this machine's Go distribution (Debian's Go is too old for the modules
# built here), laid out as the official image lays it out.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY go /usr/local/go
ENV GOPATH=/go GOTOOLCHAIN=local PATH=/go/bin:/usr/local/go/bin:$PATH
WORKDIR /go
