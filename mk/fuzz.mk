# mk/fuzz.mk: libFuzzer harnesses (tests/fuzz/fuzz_<target>.c), clang with ASan + UBSan;
# included from the top-level Makefile.
#   make fuzz         every target for FUZZ_SECONDS (default 300) each
#   make fuzz-smoke   every target for FUZZ_SMOKE_SECONDS (default 30) each (part of make check)
#   make fuzz-bins    build the harnesses only
#   FUZZ_JOBS=n       targets run n at a time (default: one per CPU)
#   make fuzz FUZZ_TARGETS=jx_extract FUZZ_SECONDS=3600   one target, longer
# Seeds: tests/fuzz/corpus/<target>/ (read-only here; regenerate with
# tests/fuzz/make_corpus.py). What libFuzzer finds goes to build/fuzz/corpus/<target>/; a crash
# leaves build/fuzz/crash-<target>-*: reproduce with build/fuzz/fuzz_<target> FILE, then copy the
# file into the seed corpus once fixed. Per-target stats (exec/s, runs) in build/fuzz/<target>.log.

FUZZ_CC            ?= clang
FUZZ_TARGETS       ?= config_parse ref_parse jx_extract sm_parse creds_ini creds_json xml_text \
                      tmpl_parse supervise_user sm_batch_parse sm_error ssm_parse convert \
                      redact sm_filter_parse sm_list_parse
FUZZ_SECONDS       ?= 300
FUZZ_SMOKE_SECONDS ?= 30
FUZZ_MAX_LEN       ?= 16384
FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=all
# The library code is built with its usual warnings (not fatal: `make lint` owns clang's verdict).
FUZZ_CFLAGS        := -std=c11 -D_GNU_SOURCE -DINJ_VERSION='"$(VERSION)"' -Iinjector \
                      $(filter-out -Werror,$(WARN)) -Wno-missing-prototypes -g -O1 \
                      -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_OBJ           := $(patsubst injector/%.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRC)) \
                      $(FUZZ_DIR)/obj/ca_fallback.o
FUZZ_LIB           := $(FUZZ_DIR)/libinjector.a
FUZZ_BINS          := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-smoke fuzz-bins

$(FUZZ_DIR)/obj/%.o: injector/%.c mk/fuzz.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c -o $@ $<

-include $(wildcard $(FUZZ_DIR)/obj/*.d)

$(FUZZ_DIR)/obj/ca_fallback.o: $(GEN_CA)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -c -o $@ $<

# An archive: each harness pulls in only the modules it reaches.
$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz-bins: $(FUZZ_BINS)

# One target for $(FUZZ_RUN_SECONDS) s: fails on the first crash, leak or invariant violation.
# Its output goes to build/fuzz/<target>.log and one summary line (the log's tail on failure),
# so targets run side by side (-j) without mixing their output.
FUZZ_RUN_SECONDS ?= $(FUZZ_SMOKE_SECONDS)
# Targets at once: each libFuzzer run keeps one core busy.
FUZZ_JOBS          ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: $(addprefix fuzz-run-,$(FUZZ_TARGETS))
$(addprefix fuzz-run-,$(FUZZ_TARGETS)): fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@set -e; t=$*; \
	mkdir -p $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t; \
	dict=; [ -f tests/fuzz/dict/$$t.dict ] && dict=-dict=tests/fuzz/dict/$$t.dict; \
	if ASAN_OPTIONS=detect_leaks=1 $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_RUN_SECONDS) \
	    -max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$$t- $$dict \
	    $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t > $(FUZZ_DIR)/$$t.log 2>&1; then \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/$$t.log); \
	  eps=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $(FUZZ_DIR)/$$t.log); \
	  cov=$$(grep -o 'cov: [0-9]*' $(FUZZ_DIR)/$$t.log | tail -1); \
	  printf 'fuzz %-13s ok: %s runs in %s s, %s exec/s, %s\n' $$t "$$runs" \
	    $(FUZZ_RUN_SECONDS) "$$eps" "$$cov"; \
	else \
	  { echo "fuzz $$t FAILED (log: $(FUZZ_DIR)/$$t.log)"; tail -40 $(FUZZ_DIR)/$$t.log; } >&2; \
	  exit 1; \
	fi

# The harnesses are built first (their shared archive once), then run FUZZ_JOBS at a time.
fuzz: $(FUZZ_BINS)
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) FUZZ_RUN_SECONDS=$(FUZZ_SECONDS) \
	  $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-smoke: $(FUZZ_BINS)
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) FUZZ_RUN_SECONDS=$(FUZZ_SMOKE_SECONDS) \
	  $(addprefix fuzz-run-,$(FUZZ_TARGETS))
