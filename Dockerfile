# syntax=docker/dockerfile:1
#
# Jagad's container image: the binary built with the Go toolchain go.mod names
# (with cgo, so zstd compresses with the C library libzstd, bundled and
# compiled in; it links glibc, which bookworm-slim has; netgo and osusergo keep
# the pure-Go DNS resolver and user lookup of a CGO_ENABLED=0 build, which
# still builds and falls back to the pure-Go zstd encoder),
# on Debian bookworm-slim with the client tools the engine execs
# (pg_dump, pg_restore from postgresql-client; mariadb-dump, mariadb and their
# mysqldump/mysql names from mariadb-client; git for the config's commit).
#
#   docker build -t jagad \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse --short HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#
# Debian bookworm's pg_dump is PostgreSQL 15, and pg_dump refuses servers newer
# than itself. For PostgreSQL 16 or later add --build-arg PG_MAJOR=17: the
# image then also installs postgresql-client-17 from the PostgreSQL project's
# apt repository (apt.postgresql.org, set up by Debian's postgresql-common),
# and /usr/bin/pg_dump runs the newest installed client.
#
# Checked without a Docker engine by examples/packaging_test.go (buildkit's
# linter, and the runtime packages against every tool the engine execs).

# Keep in step with the go line of go.mod (the test checks it).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/jagad ./cmd/jagad

FROM debian:bookworm-slim AS runtime
ARG PG_MAJOR=""
# The runtime packages, one a line: examples/packaging_test.go reads this list.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      ca-certificates \
      tzdata \
      postgresql-client \
      mariadb-client \
      mariadb-backup \
      mariadb-server-core \
      git \
      wget \
    ; \
    if [ -n "${PG_MAJOR}" ]; then \
      apt-get install -y --no-install-recommends postgresql-common; \
      /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
      apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
    fi; \
    rm -rf /var/lib/apt/lists/*; \
    git config --system --add safe.directory '*'; \
    groupadd --system --gid 10001 jagad; \
    useradd --system --uid 10001 --gid jagad --home-dir /var/lib/jagad --no-create-home \
      --shell /usr/sbin/nologin jagad; \
    mkdir -p /var/lib/jagad /etc/jagad; \
    chown jagad:jagad /var/lib/jagad; \
    chmod 0700 /var/lib/jagad

COPY --from=build /out/jagad /usr/local/bin/jagad

ARG VERSION=dev
ARG COMMIT=unknown
ARG CREATED=""
LABEL org.opencontainers.image.title="jagad" \
      org.opencontainers.image.description="Database backup daemon: GitOps jagad.yaml, encrypted PostgreSQL and MariaDB/MySQL backups to local disk or S3" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

ENV JAGAD_DATA_DIR=/var/lib/jagad \
    JAGAD_PORT=8080 \
    JAGAD_LOG_FORMAT=json
VOLUME ["/var/lib/jagad"]
EXPOSE 8080/tcp
USER 10001:10001
WORKDIR /var/lib/jagad

# /livez answers 200 while the process serves HTTP (plain HTTP on JAGAD_PORT;
# with JAGAD_TLS_CERT set, replace the probe or use the orchestrator's).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${JAGAD_PORT}/livez" || exit 1

ENTRYPOINT ["/usr/local/bin/jagad"]
CMD ["serve"]
