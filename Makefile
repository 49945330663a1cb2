# injector: build, test, demo. See README.md.
#   make              build/injector (dynamic, against Debian's -dev packages)
#   make check        unit + integration tests, 30 s of each fuzz target (mk/fuzz.mk)
#   make check-asan   the same suite against an ASan+UBSan build
#   make check-valgrind  the same suite under valgrind memcheck
#   make check-all    everything CI runs (+ make lint: clang-format, cppcheck, clang-tidy, scan-build)
#   make demo         the main job against the bundled local endpoint
#   make static       build/static/injector (musl, fully static; see mk/static.mk)
#   make static ARCH=aarch64  build/static-aarch64/injector (Graviton; cross-built)
#   make static-order  regenerate mk/static-hot.order, the static link's hot-code-first list
#   make check-arm64  that binary's checks and tests/arm64.txt under qemu-aarch64-static
#   make bench        injector vs boto3 / aws CLI / curl; make bench-storm (mk/bench.mk)
#   make sim          the deployment simulator's tables (docs/throttling.md; sim-check in CI)
#   make install      PREFIX=/usr/local (DESTDIR too): bin/injector, share/man/man1/injector.1

VERSION     := 0.1.0
CC          ?= cc
PYTHON      := /usr/bin/python3
BUILD       := build
SRC         := $(wildcard injector/*.c)

LIB_SRC     := $(filter-out injector/main.c,$(SRC))
GEN_CA      := $(BUILD)/gen/ca_fallback.c
# `injector help config` prints docs/config.md: one source of truth, compiled in.
GEN_DOC     := $(BUILD)/gen/doc_config.c
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wconversion -Wvla -Wstrict-prototypes \
            -Wmissing-prototypes -Wimplicit-fallthrough
HARDEN   := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DINJ_VERSION='"$(VERSION)"' -Iinjector $(WARN)
CFLAGS   ?= -O2 -g
ALL_CFLAGS := $(BASE_CFLAGS) $(HARDEN) -fPIE $(CFLAGS)
LDFLAGS  ?=
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(LDFLAGS)
LIBS     := -lcurl -lssl -lcrypto -lyaml -lcjson -lm -pthread
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

OBJ      := $(patsubst injector/%.c,$(BUILD)/obj/%.o,$(SRC)) $(BUILD)/obj/ca_fallback.o \
            $(BUILD)/obj/doc_config.o
LIB_OBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
AOBJ     := $(patsubst injector/%.c,$(BUILD)/asan/obj/%.o,$(SRC)) $(BUILD)/asan/obj/ca_fallback.o \
            $(BUILD)/asan/obj/doc_config.o
ALIB_OBJ := $(filter-out $(BUILD)/asan/obj/main.o,$(AOBJ))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
AUNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRC))

# pytest options; e.g. make check PYTEST_ARGS='-k dry_run'
PYTEST_ARGS ?=
# One pytest worker per CPU (python3-pytest-xdist): valgrind and ASan runs are CPU-bound.
# Each worker starts its own local endpoint; JOBS=1 runs serially.
JOBS ?= auto
# Parallel builds (check-all, valgrind-coverage): one job per CPU.
NPROC := $(shell nproc 2>/dev/null || echo 2)
PYTEST := $(PYTHON) -m pytest -q -p no:cacheprovider -n $(JOBS) $(PYTEST_ARGS)

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --track-fds=no

.PHONY: all check check-unit check-integration check-asan check-valgrind check-all demo clean \
        valgrind-coverage check-tests fuzz-smoke-idle \
        unit-bins format install

all: $(BUILD)/injector

CA_FALLBACK_RULE_DEFINED := 1
$(GEN_CA): scripts/gen-ca.sh
	@mkdir -p $(dir $@)
	sh scripts/gen-ca.sh $@

# -MMD -MP: each object depends on the headers it includes (build/**/*.d), not on all of them.
DEPFLAGS := -MMD -MP

$(BUILD)/obj/%.o: injector/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/ca_fallback.o: $(GEN_CA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(GEN_DOC): docs/config.md scripts/gen-doc.sh
	@mkdir -p $(dir $@)
	sh scripts/gen-doc.sh inj_doc_config docs/config.md $@

$(BUILD)/obj/doc_config.o: $(GEN_DOC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/doc_config.o: $(GEN_DOC)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(BUILD)/injector: $(OBJ)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/asan/obj/%.o: injector/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/ca_fallback.o: $(GEN_CA)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(BUILD)/asan/injector: $(AOBJ)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(DEPFLAGS) -O1 -g -Wno-missing-prototypes -o $@ $< $(LIB_OBJ) -lcmocka $(LIBS)

$(BUILD)/asan/tests/test_%: tests/unit/test_%.c $(ALIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) $(DEPFLAGS) -Wno-missing-prototypes -o $@ $< $(ALIB_OBJ) -lcmocka $(LIBS)

unit-bins: $(UNIT_BIN)

check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check-integration: $(BUILD)/injector
	INJECTOR_BIN=$(CURDIR)/$(BUILD)/injector $(PYTEST) tests/fake tests/integration

check: check-unit check-integration fuzz-smoke

check-asan: $(BUILD)/asan/injector $(AUNIT_BIN)
	@set -e; for t in $(AUNIT_BIN); do echo "== $$t (asan)"; $$t; done
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98 UBSAN_OPTIONS=print_stacktrace=1 \
	INJECTOR_BIN=$(CURDIR)/$(BUILD)/asan/injector INJECTOR_SANITIZED=1 $(PYTEST) tests/integration

# Under valgrind: every unit test (one per module), and the integration tests listed in
# tests/valgrind.txt, which between them run every module of the binary (valgrind-coverage
# checks that). The rest of the integration suite repeats those paths with other inputs and runs
# in the normal and ASan passes; VALGRIND_TESTS=tests/integration runs all of it here too.
VALGRIND_TESTS ?= $(shell grep -v -e '^\#' -e '^$$' tests/valgrind.txt)

check-valgrind: $(BUILD)/injector $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t (valgrind)"; $(VALGRIND) $$t; done
	INJECTOR_BIN=$(CURDIR)/$(BUILD)/injector INJECTOR_WRAPPER="$(VALGRIND)" $(PYTEST) \
	  $(VALGRIND_TESTS)

# Is tests/valgrind.txt still running every module? Its tests against a --coverage build, then
# each module's executed lines (scripts/coverage-modules.sh); fails on a module that ran none.
COV_BUILD := $(BUILD)/cov
valgrind-coverage:
	rm -rf $(COV_BUILD)
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=$(COV_BUILD) CFLAGS='-O1 -g --coverage -DINJ_COVERAGE' \
	  LDFLAGS=--coverage $(COV_BUILD)/injector
	INJECTOR_BIN=$(CURDIR)/$(COV_BUILD)/injector $(PYTEST) $(VALGRIND_TESTS)
	sh scripts/coverage-modules.sh $(COV_BUILD)/obj $(SRC)

# Everything CI runs. Every binary first, built side by side (one job per CPU; the static
# libraries' own build takes two): the image (FROM scratch chroot) tests run the static binary
# and refuse to skip in CI. static-repro rebuilds it in a temp dir (same libraries) and fails
# unless the bytes are equal. The aarch64 static binary (mk/arm64.mk) is cross-built beside
# them and checked the same way. Then the suites: the normal and ASan passes side by side
# (fuzzing in their idle time), then valgrind, the arm64 tests under qemu-user and lint, which
# keep both cores busy on their own.
CHECK_BINS := static static-aarch64 $(BUILD)/injector $(BUILD)/asan/injector $(UNIT_BIN) $(AUNIT_BIN) fuzz-bins

check-all:
	@$(MAKE) --no-print-directory -j$(NPROC) $(CHECK_BINS)
	@$(MAKE) --no-print-directory static-check static-repro sim-check
	@$(MAKE) --no-print-directory check-arm64-bin
	@$(MAKE) --no-print-directory -j3 --output-sync=target check-tests check-asan fuzz-smoke-idle
	@$(MAKE) --no-print-directory check-valgrind
	@$(MAKE) --no-print-directory check-arm64-tests
	@$(MAKE) --no-print-directory lint

# check-all's middle phase: what `make check` runs, with the ASan pass beside it (their tests
# mostly wait on processes and timers: together they use two cores about half the time) and
# the fuzz targets in the cycles left over (nice 19: a fuzz run lasts FUZZ_SMOKE_SECONDS
# whatever it gets, and the suites' timers never wait for it).
check-tests: check-unit
	@$(MAKE) --no-print-directory check-integration

fuzz-smoke-idle: fuzz-bins
	nice -n 19 $(MAKE) --no-print-directory fuzz-smoke

demo: $(BUILD)/injector
	sh scripts/demo.sh $(BUILD)/injector

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man

install: $(BUILD)/injector docs/injector.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/injector $(DESTDIR)$(BINDIR)/injector
	install -m 0644 docs/injector.1 $(DESTDIR)$(MANDIR)/man1/injector.1

format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)

# The static build compiles the generated doc too (mk/static.mk reads STATIC_SRCS).
STATIC_SRCS := $(wildcard injector/*.c) $(GEN_DOC)
-include mk/static.mk
# The header dependencies -MMD wrote (none before the first build).
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/asan/obj/*.d $(BUILD)/tests/*.d $(BUILD)/asan/tests/*.d)
include mk/arm64.mk
include mk/fuzz.mk
include mk/lint.mk
-include mk/bench.mk
