# switchboard: the two commands a user needs are `make run` and `make test`.
JOBS ?= $(shell nproc)
CONFIG ?= etc/switchboard.yaml
FUZZ_SECS ?= 30
PYTHON ?= /usr/bin/python3

.PHONY: all deps build run test unit e2e fuzz fuzz-build test-build bench clean format

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS)

run: build
	@scripts/dev-cert ./data
	./build/switchboard serve --config $(CONFIG)

# The test build: clang, ASan + UBSan, warnings are errors.
test-build: deps
	@CC=clang cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug \
		-DSB_SANITIZE=ON -DSB_TESTS=ON -DSB_FUZZ=ON >/dev/null
	@cmake --build build-test -j $(JOBS)

unit: test-build
	cd build-test && ctest --output-on-failure -j $(JOBS)

e2e: test-build
	SB_BINARY=$(CURDIR)/build-test/switchboard $(PYTHON) -m pytest -q tests/e2e

fuzz: test-build
	@tests/fuzz/run.sh build-test $(FUZZ_SECS)

test: unit e2e fuzz

bench: build
	@cmake -S . -B build -DSB_BENCH=ON >/dev/null && cmake --build build -j $(JOBS)
	./build/bench_parse

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-test
