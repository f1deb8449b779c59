# MovR — two commands: `make run` (everything, locally) and `make test` (build + every test).
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
# Debian packages the build, the local stack and the tests need.
DEBIAN_PACKAGES := postgresql postgresql-contrib libpq-dev libssl-dev pkg-config curl
# Only the tests need these: a compose parser (no engine) for the deployment files, and headless
# Chromium with its WebDriver for the web app's browser tests (Tests/IntegrationTests/WebUITests).
TEST_PACKAGES := docker-compose chromium chromium-driver linux-perf
# `make run` serves from release binaries: a debug build measures the compiler's checks, not
# the system (about 4x slower per request). Tests stay on the debug build.
RELEASE_BIN := $(shell pwd)/.build/release
# Release builds link the Swift runtime statically: no runtime libraries to ship beside the
# executables, and each process maps only the parts it uses (idle RSS, docs/benchmarks.md).
# compose/build-images.sh and compose/stack.sh use the same flags, or SwiftPM rebuilds it all.
RELEASE_BUILD := build -c release --static-swift-stdlib
BIN := $(shell pwd)/.build/debug

.PHONY: deps test-deps compose-deps install-packages build run test test-fuzz test-faults test-compose compose-up compose-down bench bench-locality bench-micro check load clean help

help:
	@echo "make run    build, then start PostgreSQL, certificates, migrations, demo data and every region (Ctrl-C stops); WAN=1 simulates distances, REPLICAS=1 adds standbys"
	@echo "make test   build and run every test (unit, PostgreSQL, TLS, integration against real processes)"
	@echo "make check  verify the invariants of a running stack (movr check)"
	@echo "make compose-up    the multi-region stack in containers (podman; COMPOSE_MODE=single for one region); prints the load balancer URL and CA"
	@echo "make compose-down  stop it and remove its containers, networks and volumes"
	@echo "make test-compose  integration tests, a region failure under load and a CA rotation against the composed stack (bounded, always tears down)"
	@echo "make test-faults  SIGKILL/SIGTERM of each executable, a PostgreSQL restart and connection resets under a ride-cycle load; figures, pass/fail (docs/reliability.md)"
	@echo "make test-fuzz  libFuzzer (ASan) on the JSON parser, the dispatcher with every public and internal params type, cursors and X-Place, the HTTP pipeline, client header values ($(FUZZ_SECONDS) s each)"
	@echo "make bench  gateway vs pgbench on the same SQL (lists, ride cycle), CPU/request, latencies, RSS; appends to docs/benchmarks.md (BENCH_ARGS='--quick' for a smoke run)"
	@echo "make bench-locality  WAN simulator on: latency from each region's gateway, local vs remote city, routing and standbys on/off; appends to docs/benchmarks.md"
	@echo "make bench-micro  micro-benchmarks with allocation counts (Benchmarks/, ordo-one/benchmark)"
	@echo "make load ARGS='init' | ARGS='run --duration 60 [--rate R]'   movr load against the running stack (docs/load.md)"

# Installs what is missing, and only that (apt-get update runs only when something is missing).
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEBIAN_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEBIAN_PACKAGES) $(TEST_PACKAGES) wrk haproxy"

# Containers (docs/operations.md): podman with runc and CNI networks with DNS names, debootstrap
# for the base image (no registry needed), Debian's docker-compose against podman's API.
COMPOSE_PACKAGES := podman runc debootstrap docker-compose containernetworking-plugins \
	golang-github-containernetworking-plugin-dnsname uidmap openssl python3 curl
compose-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEBIAN_PACKAGES) $(COMPOSE_PACKAGES)"

install-packages:
	@missing=""; \
	for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6 toolchain not found (expected at /opt/swift)"; exit 1; }

build: deps
	$(SWIFT) $(RELEASE_BUILD)

# WAN=1: simulated distances between regions; REPLICAS=1: a hot standby per non-primary region.
UP_FLAGS := $(if $(filter 1,$(WAN)),--wan) $(if $(filter 1,$(REPLICAS)),--replicas)
run: build
	$(RELEASE_BIN)/movr up $(UP_FLAGS)

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# libFuzzer targets (Fuzz/, a package of their own) built with ASan; each runs FUZZ_SECONDS on a
# scratch copy of its seed corpus (Fuzz/Corpus/<target>). A crash stops the run, leaves the
# input as crash-* under .build-fuzz/artifacts/ and must become a regression test.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := FuzzJSON FuzzDispatcher FuzzLocation FuzzHTTP FuzzHeaders
test-fuzz: test-deps
	cd Fuzz && $(SWIFT) build --scratch-path ../.build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@rm -rf .build-fuzz/corpus && mkdir -p .build-fuzz/artifacts && cp -r Fuzz/Corpus .build-fuzz/corpus
	@for target in $(FUZZ_TARGETS); do \
	  echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  .build-fuzz/debug/$$target -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=.build-fuzz/artifacts/$$target- -print_final_stats=1 .build-fuzz/corpus/$$target 2>.build-fuzz/$$target.log \
	    || { tail -40 .build-fuzz/$$target.log; echo "$$target found a failure; input saved under .build-fuzz/artifacts/"; exit 1; }; \
	  grep -E "stat::number_of_executed_units|Done" .build-fuzz/$$target.log | tail -1; \
	done
	@echo "fuzz: $(words $(FUZZ_TARGETS)) passed, 0 failed"

# Faults under load (docs/reliability.md): a private one-region stack (.movr-faults, port base
# 9700) with resettable proxies on every internal link; each executable SIGKILLed and SIGTERMed,
# PostgreSQL restarted, connections reset, each during its own ride-cycle load. Bounded by
# FAULTS_MINUTES (about 5 here); the script stops its stack on any exit.
FAULTS_MINUTES ?= 15
test-faults: test-deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="python3"
	$(SWIFT) build --build-tests
	timeout --kill-after=60 $$(( $(FAULTS_MINUTES) * 60 )) Tools/faults/test-faults.sh

# The composed stack under podman, with the project's own containers.conf (compose/podman/).
COMPOSE_MODE ?= multi
compose-up: compose-deps
	$(SWIFT) $(RELEASE_BUILD)
	compose/stack.sh up $(COMPOSE_MODE)

compose-down:
	@compose/stack.sh down

# Bounded: 25 min for the whole run (images cached: about 5); the script tears down on any exit.
COMPOSE_TEST_MINUTES ?= 25
test-compose: compose-deps
	$(SWIFT) $(RELEASE_BUILD)
	$(SWIFT) build --build-tests
	timeout --kill-after=120 $$(( $(COMPOSE_TEST_MINUTES) * 60 )) compose/test-compose.sh

# Benchmarks are measured here, never timed in tests: medians and ratios from one run.
# Release binaries: a debug build measures the compiler's checks, not the system.
bench:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEBIAN_PACKAGES) wrk haproxy linux-perf"
	$(SWIFT) $(RELEASE_BUILD)
	.build/release/movr bench $(BENCH_ARGS)

# The cost of distance: WAN simulator on, 4 stacks (home-region routing x standbys) one after
# the other; appends the latency table to docs/benchmarks.md (BENCH_ARGS='--quick' for a smoke run).
bench-locality: build
	.build/release/movr bench locality $(BENCH_ARGS)

# Micro-benchmarks live in their own package (Benchmarks/) so the main package never depends on
# the benchmark framework; its plugin builds them in release mode and counts mallocs.
bench-micro:
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

check:
	@if [ -x $(RELEASE_BIN)/movr ]; then $(RELEASE_BIN)/movr check; else $(BIN)/movr check; fi

# Load through the public API of the stack `make run` started; a release binary, so the
# generator is not what limits the rate.
ARGS ?= run --duration 60
load:
	$(SWIFT) $(RELEASE_BUILD) --product movr
	.build/release/movr load $(ARGS)

clean:
	rm -rf .build
