# The two commands of the README:
#   make dev    serve every function locally (cargo lambda watch, embedded SQLite store)
#   make test   run every test, installing the test tools into .venv first
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: dev monitor monitoring-tools browser-tools test tools check unit e2e infra audit fuzz bench bench-catalog startup package

# The local run needs only cargo-lambda (a few MB); the test tools (checkov, moto, schemathesis,
# ...) are much larger and come with `make tools`, which every test target depends on.
$(VENV)/.dev-installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(VENV)/.installed: tests/requirements.txt requirements-dev.txt $(VENV)/.dev-installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

tools: $(VENV)/.installed

dev: $(VENV)/.dev-installed
	scripts/dev.sh

# Debian's prometheus and promtool, and headless Chromium with its driver for the browser tests
# (installed when run as root, as in CI; otherwise the command says what to install).
monitoring-tools:
	scripts/install-debian.sh prometheus:prometheus promtool:prometheus

browser-tools:
	scripts/install-debian.sh chromium:chromium chromedriver:chromium-driver

# `make dev` with Prometheus on http://127.0.0.1:9090 reading the functions' EMF metrics and
# evaluating the twins of the CloudWatch alarms (monitoring/alerts.yml).
monitor: $(VENV)/.dev-installed monitoring-tools
	scripts/monitor.sh

check:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	# The functions as `make package` builds them: DynamoDB only, no embedded store.
	cargo clippy -p token -p secure-data -p search -p signin --no-default-features -- -D warnings

# The DynamoDB tests run against moto_server on 127.0.0.1, started and stopped by the script.
unit: tools
	scripts/with-moto.sh cargo test --workspace

e2e: tools monitoring-tools browser-tools
	$(VENV)/bin/pytest tests/e2e

# The AWS provider's schema, as generated from hashicorp/aws 5.99.1 into the jsii assembly of
# @cdktf/provider-aws 19.65.1 (npm): tests/infra/provider_schema.py holds every argument and
# block of terraform/ against it, standing in for `terraform validate` without a binary.
PROVIDER_SCHEMA := target/provider-schema/aws-5.99.1.jsii
PROVIDER_PACKAGE := cdktf-provider-aws-19.65.1.tgz
PROVIDER_SHA256 := b183ae1d4287372b78ae03a822f97f0bbba9ac4e66def4f594af93cf305c826d
$(PROVIDER_SCHEMA):
	mkdir -p $(@D)
	cd $(@D) && npm pack --silent @cdktf/provider-aws@19.65.1 >/dev/null \
	  && echo "$(PROVIDER_SHA256)  $(PROVIDER_PACKAGE)" | sha256sum --check --quiet \
	  && tar xzf $(PROVIDER_PACKAGE) package/.jsii && mv package/.jsii $(@F) && rm -rf package $(PROVIDER_PACKAGE)

# Terraform and OpenAPI: parsed, scanned by checkov, checked against the provider's schema, and
# held against the code.
infra: tools monitoring-tools $(PROVIDER_SCHEMA)
	cargo build --quiet -p oasis-admin
	$(VENV)/bin/pytest tests/infra

# cargo deny (deny.toml): RustSec advisories, licenses (a permissive allow-list), bans (no two
# versions of a crate but the listed exceptions, no wildcards) and sources (crates.io only).
# Offline: advisories from the snapshot beside the checkout (../shared/advisory-db); without
# it, the live database is fetched for the advisories.
ADVISORY_SNAPSHOT := $(CURDIR)/../shared/scripts/prepare-advisory-db
audit:
	command -v cargo-deny >/dev/null || cargo install --locked cargo-deny --version 0.20.2
	cargo fetch --quiet
	cargo deny --offline check licenses bans sources
	if [ -f "$(ADVISORY_SNAPSHOT)" ]; then \
	  bash "$(ADVISORY_SNAPSHOT)" "$(CURDIR)/target/advisory-db" && cargo deny --offline check advisories; \
	else \
	  cargo deny check advisories; \
	fi

# Every parser of untrusted input under AFL++ (cargo-afl, stable toolchain), FUZZ_SECONDS per
# target (20: under three minutes for the seven, once the instrumented build in target/fuzz/ is
# there); fails on any crash or hang and keeps it in fuzz/regressions/. One target longer:
# FUZZ_TARGETS=jwt FUZZ_SECONDS=3600 make fuzz. fuzz/run.sh installs cargo-afl when missing.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS ?=
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz/run.sh

test: tools check audit unit e2e infra fuzz

# The deployable artifacts: target/lambda/<function>/bootstrap.zip (arm64, provided.al2023).
package: tools
	rustup target add aarch64-unknown-linux-gnu
	cargo lambda build --release --arm64 --output-format zip --no-default-features -p token -p secure-data -p search -p signin

# In-process handler latency, release build; numbers go in the README.
bench:
	cargo run --quiet --release -p oasis-bench

# Search cost and catalog load rate by catalog size on SQLite (10,000 / 100,000 / 1,000,000
# titles), and index items read per page on DynamoDB (moto on loopback, 10,000 / 100,000;
# moto stores ~100-150 titles/s here, so the DynamoDB half takes about 15 minutes).
bench-catalog: tools
	cargo run --quiet --release -p oasis-bench --bin catalog-scale -- 10000 100000 1000000
	scripts/with-moto.sh sh -c 'cargo run --quiet --release -p oasis-bench --bin catalog-scale -- --dynamodb "$$OASIS_TEST_AWS_ENDPOINT" 10000 100000'

# Lambda-style benchmark of the release binaries against a hello-world lambda_http: init, first
# call, warm p50/p99, peak RSS, sizes. BENCH_WARM=1000 BENCH_COLD=10; BENCH_CASES=signin,search
# measures only those cases (and the floor); BENCH_RUNS=6 prints medians of six runs; BENCH_CHECK=1
# fails on a broken memory budget.
startup:
	python3 scripts/measure-startup.py
