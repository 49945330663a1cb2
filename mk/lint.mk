# mk/lint.mk: static analysis, included from the top-level Makefile; `make lint` must be clean
# (it is part of check-all).
#   make lint           all four below
#   make lint-format    clang-format --dry-run --Werror with .clang-format (make format fixes)
#   make lint-cppcheck  cppcheck --enable=warning,portability (suppressions: .cppcheck-suppressions)
#   make lint-tidy      clang-tidy with .clang-tidy (bugprone-*, cert-*, clang-analyzer-*)
#   make lint-scan      scan-build over the build (report in $(BUILD)/scan-report when it fails)
# Tools: clang-format, cppcheck, clang-tidy, clang-tools (scan-build), all from Debian.

# Files analysed at once (the machines have two cores).
LINT_JOBS := $(shell nproc 2>/dev/null || echo 2)
LINT_DEFS := -D_GNU_SOURCE -DINJ_VERSION='"$(VERSION)"' -Iinjector
CPPCHECK  := cppcheck --enable=warning,portability --std=c11 --error-exitcode=1 --inline-suppr \
             --quiet --suppressions-list=.cppcheck-suppressions $(LINT_DEFS)

.PHONY: lint lint-format lint-cppcheck lint-tidy lint-scan

FORMAT_SRC := $(wildcard injector/*.c injector/*.h tests/unit/*.c tests/unit/*.h \
                         tests/fuzz/*.c tests/fuzz/*.h tests/sim/*.c)

lint: lint-format lint-cppcheck lint-tidy lint-scan

lint-format:
	clang-format --dry-run --Werror $(FORMAT_SRC)

lint-cppcheck:
	$(CPPCHECK) injector tests/fuzz tests/sim

# LINT_JOBS files at a time; any finding fails (WarningsAsErrors).
lint-tidy:
	printf '%s\n' $(SRC) | xargs -P$(LINT_JOBS) -I{} clang-tidy --quiet {} -- -std=c11 $(LINT_DEFS)

# A separate build dir, so every file is compiled (and analysed) afresh.
lint-scan:
	rm -rf $(BUILD)/scan $(BUILD)/scan-report
	scan-build --use-cc=clang --status-bugs -o $(BUILD)/scan-report \
	  $(MAKE) --no-print-directory -j$(LINT_JOBS) BUILD=$(BUILD)/scan $(BUILD)/scan/injector
