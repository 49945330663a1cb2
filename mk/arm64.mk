# mk/arm64.mk: the aarch64 (Graviton) static binary, cross-built on this x86-64 machine and
# tested under qemu-user. Included from the top-level Makefile.
#   make static ARCH=aarch64   build/static-aarch64/injector (mk/static.mk; docs/static-build.md)
#   make static-aarch64        the same, as a target check-all can build beside the others
#   make check-arm64           that binary: static-check, static-repro, then the integration
#                              tests listed in tests/arm64.txt, run by qemu-aarch64-static
#                              (invoked explicitly: no binfmt_misc)
# The tests are the suite's own: conftest runs INJECTOR_WRAPPER + INJECTOR_BIN, test_image
# runs INJECTOR_STATIC_BIN in the empty chroot with the emulator copied in next to it.

ARM64_BIN   := build/static-aarch64/injector
ARM64_QEMU  := qemu-aarch64-static
ARM64_TESTS ?= $(shell grep -v -e '^\#' -e '^$$' tests/arm64.txt)

.PHONY: static-aarch64 check-arm64 check-arm64-bin check-arm64-tests

static-aarch64: $(STATIC_CA_C) $(GEN_DOC)
	@$(MAKE) --no-print-directory ARCH=aarch64 static

check-arm64-bin: static-aarch64
	@$(MAKE) --no-print-directory ARCH=aarch64 static-check static-repro

check-arm64: check-arm64-bin
	@$(MAKE) --no-print-directory check-arm64-tests

check-arm64-tests:
	INJECTOR_BIN=$(CURDIR)/$(ARM64_BIN) INJECTOR_STATIC_BIN=$(CURDIR)/$(ARM64_BIN) \
	INJECTOR_WRAPPER=$(ARM64_QEMU) INJECTOR_EXPECT_ARCH=aarch64 $(PYTEST) $(ARM64_TESTS)
