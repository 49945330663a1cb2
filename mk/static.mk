# mk/static.mk: fully static musl build of injector, included from the top-level Makefile.
#   make static-deps    OpenSSL, libcurl, libyaml, cJSON -> $(STATIC_DEPS)/{include,lib}
#   make static         $(STATIC_BIN), from injector/*.c + build/gen/ca_fallback.c
#   make static-check   statically linked? size <= $(STATIC_MAX_BYTES)?
#   make static-repro   rebuild in a temp dir, compare sha256
# ARCH=x86_64 (build/static/injector) or ARCH=aarch64 (build/static-aarch64/injector) picks
# the target; the default is this machine's. One recipe for both: a target other than this
# machine is cross-compiled (Debian's gcc-ARCH-linux-gnu, musl built from Debian's source).
# Details, pins and how to bump them: docs/static-build.md.

STATIC_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

# Debian bookworm source versions (`apt-get source PKG=VERSION`). A bump also needs the new
# sha256 pins in scripts/static-deps.sh (pinned_sha256). bookworm-security's openssl
# 3.0.22-1~deb12u2 is listed but its .dsc is 404 on the mirror, so 3.0.20 (bookworm 12.x).
STATIC_OPENSSL_VERSION = 3.0.20-1~deb12u2
STATIC_CURL_VERSION    = 7.88.1-10+deb12u15
STATIC_LIBYAML_VERSION = 0.2.5-1
STATIC_CJSON_VERSION   = 1.7.15-1+deb12u4
# Cross builds only: the native build uses the machine's musl-tools (the same version).
STATIC_MUSL_VERSION    = 1.2.3-1

STATIC_HOST_ARCH := $(shell uname -m)
# ARCH only from make's command line (sub-makes inherit it): an ARCH in the environment, as
# some build setups export, does not pick the target.
STATIC_ARCH      = $(if $(filter command line,$(origin ARCH)),$(ARCH),$(STATIC_HOST_ARCH))
# Cross-compiling when the target is not this machine.
STATIC_CROSS     = $(filter-out $(STATIC_HOST_ARCH),$(STATIC_ARCH))

# x86_64 keeps the historical build/static; any other target gets build/static-ARCH.
STATIC_DIR       = build/static$(if $(filter-out x86_64,$(STATIC_ARCH)),-$(STATIC_ARCH))
STATIC_DEPS      = $(STATIC_DIR)/deps
STATIC_BIN       = $(STATIC_DIR)/injector
STATIC_OBJDIR    = $(STATIC_DIR)/obj
STATIC_DEPS_STAMP = $(STATIC_DEPS)/.stamp-static-deps
STATIC_CA_C      = build/gen/ca_fallback.c
STATIC_SRCS     ?= $(wildcard injector/*.c)
STATIC_MAX_BYTES = 2883584
STATIC_JOBS     ?= 2
STATIC_CC        = $(if $(STATIC_CROSS),$(STATIC_DEPS)/musl/bin/musl-gcc,musl-gcc)

# __DATE__/__TIME__ follow SOURCE_DATE_EPOCH: the caller's, else the last commit's time.
STATIC_GIT_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null)
STATIC_SOURCE_DATE_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(STATIC_GIT_EPOCH),1704067200)

# The top-level Makefile's VERSION, if it has one, as INJ_VERSION (as its BASE_CFLAGS does).
STATIC_VERSION_DEF = $(if $(VERSION),-DINJ_VERSION='"$(VERSION)"')

# STYLE.md section 10, for musl: -Os instead of -O2; no _FORTIFY_SOURCE (glibc only, inert
# on musl; the dynamic glibc build covers it); no PIE (musl-gcc -static-pie silently makes a
# dynamic binary); no unwind tables, as for the libraries (size; only debuggers read them).
# STATIC_EXTRA_CFLAGS and STATIC_EXTRA_CPPFLAGS are hooks (e.g. -DINJ_DEBUG=1).
# $(WARN) is the top-level Makefile's one warning list.
STATIC_CFLAGS = -std=c11 -Os $(WARN) \
  -fstack-protector-strong -fstack-clash-protection -ffunction-sections -fdata-sections \
  -fno-asynchronous-unwind-tables -fno-unwind-tables -ffile-prefix-map=$(CURDIR)/= \
  $(STATIC_EXTRA_CFLAGS)
STATIC_CPPFLAGS = -D_GNU_SOURCE -DINJ_STATIC=1 $(STATIC_VERSION_DEF) -Iinjector \
  -isystem $(STATIC_DEPS)/include -idirafter $(STATIC_DEPS)/kernel-headers \
  $(STATIC_EXTRA_CPPFLAGS)
# Linked with lld for its symbol ordering file: the functions a start runs (STATIC_ORDER,
# written by `make static-order`) go together at the front of .text. The kernel maps up to
# 64 KiB of cached file pages around each fault, so scattered hot code maps all of .text
# (1.9 MiB); packed, a start maps about 1 MiB of code. Names lld does not find (the other
# architecture's assembly, a renamed function) are skipped; static-check counts them.
# --no-dynamic-linker: musl-gcc's specs name an interpreter that lld, unlike ld.bfd, would
# keep as PT_INTERP in a static executable (static-check fails on one).
STATIC_ORDER = mk/static-hot.order
# A cross gcc looks for ld.lld in its own directories only: -B gives it one (STATIC_LLD_DIR).
STATIC_LLD_DIR = $(STATIC_DIR)/lld
STATIC_LINKBASE = $(if $(STATIC_CROSS),-B$(STATIC_LLD_DIR)/) -static -fuse-ld=lld \
  -Wl,--no-dynamic-linker -Wl,--gc-sections -Wl,--build-id=none -Wl,-z,relro,-z,now \
  -Wl,-z,noexecstack -L$(STATIC_DEPS)/lib
STATIC_LINKFLAGS = $(STATIC_LINKBASE) -Wl,--symbol-ordering-file=$(STATIC_ORDER)
STATIC_LDFLAGS = -s $(STATIC_LINKFLAGS) -Wl,--no-warn-symbol-ordering
# static-check: more order file names than this (percent) not in the x86_64 link means the
# file is stale (renamed or removed functions); regenerate it with `make static-order`.
STATIC_ORDER_MAX_MISSING_PCT = 3
STATIC_LIBS = -lcurl -lssl -lcrypto -lyaml -lcjson -lm -pthread

# VERSION and STATIC_SRCS live there: objects rebuild when it changes.
STATIC_TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
STATIC_OBJ_OF = $(STATIC_OBJDIR)/$(basename $(notdir $(1))).o
STATIC_OBJS = $(foreach s,$(STATIC_SRCS) $(STATIC_CA_C),$(call STATIC_OBJ_OF,$(s)))

.PHONY: static static-deps static-check static-repro static-order

static-deps: $(STATIC_DEPS_STAMP)

$(STATIC_DEPS_STAMP): scripts/static-deps.sh mk/static.mk
	DEB_OPENSSL_VERSION='$(STATIC_OPENSSL_VERSION)' DEB_CURL_VERSION='$(STATIC_CURL_VERSION)' \
	DEB_LIBYAML_VERSION='$(STATIC_LIBYAML_VERSION)' DEB_CJSON_VERSION='$(STATIC_CJSON_VERSION)' \
	DEB_MUSL_VERSION='$(STATIC_MUSL_VERSION)' ARCH='$(STATIC_ARCH)' \
	JOBS='$(STATIC_JOBS)' sh scripts/static-deps.sh $(STATIC_DEPS)
	@touch $@

# The lead's Makefile may define this rule too: whoever comes first sets the guard.
ifndef CA_FALLBACK_RULE_DEFINED
CA_FALLBACK_RULE_DEFINED := 1
build/gen/ca_fallback.c: scripts/gen-ca.sh
	@mkdir -p $(@D)
	sh scripts/gen-ca.sh $@
endif

static: $(STATIC_BIN)

define STATIC_OBJ_RULE
$(call STATIC_OBJ_OF,$(1)): $(1) $$(STATIC_DEPS_STAMP) mk/static.mk $$(STATIC_TOP_MAKEFILE)
	@mkdir -p $$(@D)
	SOURCE_DATE_EPOCH=$$(STATIC_SOURCE_DATE_EPOCH) $$(STATIC_CC) $$(STATIC_CPPFLAGS) \
	  $$(STATIC_CFLAGS) -MMD -MP -c $$< -o $$@
endef
$(foreach s,$(STATIC_SRCS) $(STATIC_CA_C),$(eval $(call STATIC_OBJ_RULE,$(s))))
-include $(wildcard $(STATIC_OBJDIR)/*.d)

ifneq ($(filter static static-deps static-check static-repro static-order,$(MAKECMDGOALS)),)
ifeq ($(strip $(STATIC_SRCS)),)
$(error static: no injector/*.c to build yet)
endif
ifeq ($(filter x86_64 aarch64,$(STATIC_ARCH)),)
$(error static: ARCH=$(STATIC_ARCH): x86_64 or aarch64)
endif
endif

$(STATIC_BIN): $(STATIC_OBJS) $(STATIC_ORDER) | $(STATIC_LLD_DIR)/ld.lld
	@mkdir -p $(@D)
	SOURCE_DATE_EPOCH=$(STATIC_SOURCE_DATE_EPOCH) $(STATIC_CC) $(STATIC_CFLAGS) \
	  $(STATIC_LDFLAGS) -o $@.tmp $(STATIC_OBJS) $(STATIC_LIBS)
	@mv -f $@.tmp $@

$(STATIC_LLD_DIR)/ld.lld:
	@mkdir -p $(@D)
	@p=$$(command -v ld.lld) || { echo "static: ld.lld not found (apt-get install lld)" >&2; \
	  exit 1; }; ln -sf "$$p" $@

static-check: $(STATIC_BIN)
	@info=$$(file -b $(STATIC_BIN)); echo "$(STATIC_BIN): $$info"; \
	case "$$info" in *"statically linked"*) ;; \
	*) echo "static-check: FAIL: not statically linked" >&2; exit 1 ;; esac; \
	case "$$info" in *", stripped"*) ;; \
	*) echo "static-check: FAIL: not stripped" >&2; exit 1 ;; esac; \
	command -v readelf >/dev/null || { echo "static-check: readelf not found (binutils)" >&2; \
	  exit 1; }; \
	if LC_ALL=C readelf -lW $(STATIC_BIN) | grep -q INTERP; then \
	  echo "static-check: FAIL: a PT_INTERP program header (an interpreter to load)" >&2; \
	  exit 1; fi; \
	if grep -q -e nsswitch.conf -e 'libnss_' $(STATIC_BIN); then \
	  echo "static-check: FAIL: NSS (nsswitch.conf/libnss_*) referenced" >&2; exit 1; fi; \
	size=$$(wc -c < $(STATIC_BIN)); \
	awk -v s=$$size -v m=$(STATIC_MAX_BYTES) \
	  'BEGIN { printf "size: %d bytes (%.2f MiB), limit %d bytes (%.2f MiB)\n", \
	           s, s / 1048576, m, m / 1048576 }'; \
	if [ $$size -gt $(STATIC_MAX_BYTES) ]; then \
	  echo "static-check: FAIL: larger than $(STATIC_MAX_BYTES) bytes" >&2; exit 1; fi; \
	tmp=$$(mktemp "$${TMPDIR:-/tmp}/injector-order.XXXXXX"); \
	if ! $(STATIC_CC) $(STATIC_CFLAGS) $(STATIC_LINKFLAGS) -Wl,--warn-symbol-ordering \
	  -o "$$tmp" $(STATIC_OBJS) $(STATIC_LIBS) > "$$tmp.log" 2>&1; then \
	  cat "$$tmp.log" >&2; rm -f "$$tmp" "$$tmp.log"; \
	  echo "static-check: FAIL: relinking with the order file's warnings failed" >&2; exit 1; fi; \
	missing=$$(grep -c 'no such symbol' "$$tmp.log"); \
	rm -f "$$tmp" "$$tmp.log"; \
	names=$$(grep -c -v -e '^#' -e '^$$' $(STATIC_ORDER)); \
	echo "order file: $$missing of $$names names not in this link ($(STATIC_ORDER))"; \
	if [ "$(STATIC_ARCH)" = x86_64 ] && \
	   [ $$((missing * 100)) -gt $$((names * $(STATIC_ORDER_MAX_MISSING_PCT))) ]; then \
	  echo "static-check: FAIL: $(STATIC_ORDER) is stale (over" \
	    "$(STATIC_ORDER_MAX_MISSING_PCT)% missing): run make static-order" >&2; exit 1; fi; \
	echo "static-check: OK"

# The ordering file: the static binary, unstripped (and in the default layout: the file may
# not exist yet), runs under callgrind and perf against the local endpoint
# (bench/hot_order.py; needs valgrind and perf, Debian's linux-perf); the functions it ran
# become $(STATIC_ORDER). Native builds only (valgrind and perf run the binary); the aarch64
# cross link uses the x86_64 file's names.
static-order: $(STATIC_OBJS) | $(STATIC_LLD_DIR)/ld.lld
	@if [ -n "$(STATIC_CROSS)" ]; then \
	  echo "static-order: ARCH=$(STATIC_ARCH) is cross-built here; run it natively" >&2; \
	  exit 1; fi
	@mkdir -p $(STATIC_DIR)
	SOURCE_DATE_EPOCH=$(STATIC_SOURCE_DATE_EPOCH) $(STATIC_CC) $(STATIC_CFLAGS) \
	  $(STATIC_LINKBASE) -o $(STATIC_DIR)/injector.syms $(STATIC_OBJS) $(STATIC_LIBS)
	/usr/bin/python3 bench/hot_order.py $(STATIC_DIR)/injector.syms > $(STATIC_ORDER).tmp
	@mv -f $(STATIC_ORDER).tmp $(STATIC_ORDER)
	@echo "$(STATIC_ORDER): $$(grep -c -v -e '^#' -e '^$$' $(STATIC_ORDER)) functions"

# Second build: fresh objects in a temp dir, same sources; plus a second CA generation.
static-repro: $(STATIC_BIN) $(STATIC_CA_C)
	@set -e; tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/injector-repro.XXXXXX"); \
	trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory -f $(STATIC_TOP_MAKEFILE) \
	  STATIC_OBJDIR="$$tmp/obj" STATIC_BIN="$$tmp/injector" "$$tmp/injector"; \
	sh scripts/gen-ca.sh "$$tmp/ca.c"; \
	if ! cmp -s "$$tmp/ca.c" $(STATIC_CA_C); then \
	  echo "static-repro: FAIL: scripts/gen-ca.sh output differs" >&2; exit 1; fi; \
	a=$$(sha256sum < $(STATIC_BIN) | cut -d' ' -f1); \
	b=$$(sha256sum < "$$tmp/injector" | cut -d' ' -f1); \
	echo "$$a  $(STATIC_BIN)"; echo "$$b  (rebuilt from scratch in $$tmp)"; \
	if [ "$$a" != "$$b" ]; then echo "static-repro: FAIL: builds differ" >&2; exit 1; fi; \
	echo "static-repro: OK: identical"

# Included early or late, this file never changes the top-level Makefile's default goal.
.DEFAULT_GOAL := $(STATIC_SAVED_DEFAULT_GOAL)
