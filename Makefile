# labelloop: the two commands of the README are `make run` and `make test`; both install what
# they need first (scripts/install.sh is quick when everything is there).
JOBS      ?= $(shell nproc)
BUILD     ?= build
SANBUILD  ?= build-san
DATA_DIR  ?= ./labelloop-data
PORT      ?= 8080
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-san web run test bench fuzz format format-check clean

all: build

deps:
	@scripts/install.sh

# Configure runs every time (a second when cached) so that new modules, tests and fuzz targets
# found by the CMake globs are always picked up.
build: deps web
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-san: deps web
	@CC=clang CXX=clang++ cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DLL_SANITIZE=ON -DLL_FUZZ=ON >/dev/null
	cmake --build $(SANBUILD) -j $(JOBS)

web: deps
	@if [ -f web/package.json ]; then cd web && npm run --silent build; fi

run: build
	$(BUILD)/labelloop serve --data-dir $(DATA_DIR) --port $(PORT)

# Every test (unit, API, browser, fuzz smoke) runs under ctest in the sanitizer build; a test
# without its own TIMEOUT gets 900 s, so nothing can hang CI.
test: build-san
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(SANBUILD) --output-on-failure --timeout 900 -j $(JOBS)

# Benchmarks: bench/NAME/run.sh, each run alone; `make bench` runs them all.
BENCHES := $(notdir $(patsubst %/run.sh,%,$(wildcard bench/*/run.sh)))

bench-%: build
	@bash bench/$*/run.sh $(BUILD)

bench: build
	@for b in $(BENCHES); do bash bench/$$b/run.sh $(BUILD) || exit 1; done

fuzz: build-san
	@bash fuzz/run.sh $(SANBUILD) $(FUZZ_SECONDS)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) $(SANBUILD)
