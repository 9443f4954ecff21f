# Jagad — make targets. `make run` and `make test` are the two commands a
# fresh checkout needs (see README.md).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN     := bin/jagad
export PATH := $(CURDIR)/.bin:$(PATH)

# Fails listing the files gofmt would change. It writes to stderr through the
# shell's own descriptor: `tee /dev/stderr` reopened the file that stderr is
# redirected to and truncated `make test > log 2>&1`.
GOFMT_CHECK = out=$$(gofmt -l $$(git ls-files '*.go')) && \
	if [ -n "$$out" ]; then printf 'gofmt would change:\n%s\n' "$$out" >&2; exit 1; fi

.PHONY: build run test test-short test-k8s kube-apiserver bench lint services clean

build:
	go build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/jagad

# Starts the daemon on examples/jagad.yaml with a data dir under the repository.
run: build
	mkdir -p .data/backups
	JAGAD_DATA_DIR=$${JAGAD_DATA_DIR:-$(CURDIR)/.data} \
	JAGAD_LOCAL_BACKUP_DIR=$${JAGAD_LOCAL_BACKUP_DIR:-$(CURDIR)/.data/backups} \
	$(BIN) serve --config examples/jagad.yaml

services:
	bash .ci/services.sh

# One test package more than CPUs: cmd/jagad/clustere2e waits about six
# minutes for cron slots on a fifth of a core, and with the default (one per
# CPU) it would hold a slot the CPU-heavy packages need.
TEST_P ?= $(shell echo $$(( $$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2) + 1 )))

test: services
	@$(GOFMT_CHECK)
	go vet ./...
	go test -race -count=1 -timeout 30m -p $(TEST_P) ./...
	cd examples && go vet ./... && go test -count=1 -timeout 10m ./...   # packaging: its own module

test-short:
	go test -count=1 -short ./...

# A real kube-apiserver for the Kubernetes Lease mode's tests, built from the
# Go module proxy at the version pinned in .ci/tools/kubeapi (k8s.io/kubernetes;
# ~5-8 min and 2.4 GB RAM on a cold cache). Built only when missing: after
# changing the pin, remove .bin/kube-apiserver. Not part of `make test`.
KUBE_VERSION := $(shell sed -n 's|^require k8s.io/kubernetes ||p' .ci/tools/kubeapi/go.mod)
KUBE_VERSION_PKG := k8s.io/component-base/version
KUBE_VERSION_LDFLAGS := -s -X $(KUBE_VERSION_PKG).gitVersion=$(KUBE_VERSION) \
	-X $(KUBE_VERSION_PKG).gitMajor=$(word 1,$(subst ., ,$(KUBE_VERSION:v%=%))) \
	-X $(KUBE_VERSION_PKG).gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION:v%=%))) \
	-X $(KUBE_VERSION_PKG).gitTreeState=clean

kube-apiserver: .bin/kube-apiserver

.bin/kube-apiserver:
	@mkdir -p .bin
	cd .ci/tools/kubeapi && go build -trimpath -ldflags='$(KUBE_VERSION_LDFLAGS)' \
	  -o $(CURDIR)/.bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver

# The election scenarios against that real kube-apiserver (and Debian's etcd):
# engine/cluster/k8slease/realapi_test.go, build tag kubeapiserver.
test-k8s: kube-apiserver
	JAGAD_KUBE_APISERVER=$(CURDIR)/.bin/kube-apiserver go test -race -count=1 -tags kubeapiserver \
	  -run 'TestRealAPIServer' ./engine/cluster/k8slease/ ./cmd/jagad/

# Benchmarks: Go benchmarks of the hot paths, then the end-to-end backup and
# restore benchmark, which reports every row as a ratio to a baseline run in
# the same script.
bench: services build
	go test -run '^$$' -bench . -benchtime 3x ./config/ ./reconcile/ ./state/
	go test -run '^$$' -bench . ./api/ ./engine/crypt/   # BenchmarkLoadP99: bin/jagad under open-loop load, ~2 min
	go test -run '^$$' -bench RowCounter ./engine/dump/
	go test -run '^$$' -bench ClaimRelease -benchtime 3000x ./engine/cluster/   # p99-ms: claim + release per run, real etcd
	go test -run '^$$' -bench Failover -benchtime 3x ./engine/cluster/   # a member cut from etcd: its share claimed elsewhere (detect-s, worst/ttl; goal TTL + 5 s)
	go test -run '^$$' -bench RestorePostgres -benchtime 1x -timeout 30m ./engine/   # JAGAD_BENCH_ROWS=5000000: the ~1 GB database
	go test -run '^$$' -bench PhysicalBackup -benchtime 1x -timeout 30m ./engine/    # base backup vs pg_basebackup -Ft -D - > /dev/null
	go test -run '^$$' -bench MariaPhysical -benchtime 3x -timeout 30m ./engine/     # issue 17's 537 MB database (JAGAD_BENCH_ROWS=4725000), 3 rounds' medians: full vs mariadb-backup > /dev/null (same flags); incremental after 1% vs the full and vs the bare incremental
	go test -run '^$$' -bench WALArchiveUnderLoad -benchtime 1x -timeout 30m ./engine/   # wal_archive under 30 s of pgbench: lag, catch-up
	bash engine/bench/run.sh
	bash engine/bench/rss.sh   # daemon VmRSS/VmHWM over 10 backups through the API, ~70 s

# Man pages (section 1) for every command into docs/man, from the binary's
# own command tree (`jagad man-pages DIR`); generated, not committed.
.PHONY: docs
docs: build
	$(BIN) man-pages docs/man

lint:
	@$(GOFMT_CHECK)
	go vet ./...
	go vet -tags kubeapiserver ./engine/cluster/k8slease/... ./cmd/jagad/   # make test-k8s's files (no server needed)
	cd examples && go vet ./...

# examples/kubernetes/prometheusrule.yaml from examples/prometheus/alerts.yml.
.PHONY: generate image
generate:
	cd examples && go generate ./...

# The container image (needs a Docker engine; see Dockerfile for PG_MAJOR).
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
	  --build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) -t jagad:$(VERSION) .

clean:
	rm -rf bin .data
