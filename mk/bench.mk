# mk/bench.mk: benchmarks, included from the top-level Makefile. Not part of `make check`:
# they need the peers they compare against (scripts/setup-debian.sh installs them: awscli,
# python3-boto3, jq, curl, time; hyperfine is used when present).
#   make bench        injector vs a boto3 wrapper vs a Node SDK v3 wrapper vs an aws CLI script
#                     vs curl, N = 1, 10, 100, in two profiles: the local endpoint as is, and a
#                     realistic one (round trip and service time modelled: bench/delay_relay.py);
#                     then the CA store cost and 10,000 entries; then N = 1, 10, 100 SSM
#                     parameters in both profiles. The tables go to stdout and
#                     bench/results.md (make bench-storm's sections kept). BENCH_ARGS: e.g.
#                     --runs 30 --rtt-ms 4 --service-ms 15, --cli-max-n 10, --services ssm (only
#                     the SSM rows and section) or sm (the SSM section kept as it was)
#   make bench-node   the AWS SDK for JavaScript v3 (pinned; the Secrets Manager and SSM clients)
#                     into bench/node (npm; `make bench`
#                     does it first; never at test time)
#   make bench-storm  300 injector processes, 50 at a time, against a throttling endpoint: a
#                     Secrets Manager run, then an SSM run at SSM's 40/s scaled down alike (its
#                     table also goes into bench/results.md). STORM_ARGS: e.g. --services ssm,
#                     --fetch batch, --retry-mode adaptive (docs/throttling.md)
.PHONY: bench bench-node bench-storm

BENCH_ARGS ?=
STORM_ARGS ?=
BENCH_NODE_SDK_VERSION = 3.1178.0
BENCH_NODE_STAMP = bench/node/node_modules/@aws-sdk/client-secrets-manager/package.json \
  bench/node/node_modules/@aws-sdk/client-ssm/package.json

bench: $(BUILD)/injector $(BENCH_NODE_STAMP)
	$(PYTHON) bench/bench.py --injector $(BUILD)/injector $(BENCH_ARGS)

bench-node: $(BENCH_NODE_STAMP)

# Both clients in one install (grouped target: one npm run makes both stamps).
$(BENCH_NODE_STAMP) &:
	@command -v npm >/dev/null || { echo "bench-node: npm not found (scripts/setup-debian.sh)"; exit 1; }
	mkdir -p bench/node
	npm install --prefix bench/node --no-audit --no-fund --no-save \
	  @aws-sdk/client-secrets-manager@$(BENCH_NODE_SDK_VERSION) \
	  @aws-sdk/client-ssm@$(BENCH_NODE_SDK_VERSION)

bench-storm: $(BUILD)/injector
	$(PYTHON) bench/storm.py --injector $(BUILD)/injector $(STORM_ARGS)

# The deployment simulator (tests/sim/sim.c, docs/throttling.md): the real fetch strategy and
# retry runner (every library object but mono.o, whose clock and sleep the simulator provides)
# on a virtual clock. make sim: the table in docs/throttling.md (SIM_ARGS: more options for
# every row); make sim-check: the small case CI runs, failing if any start fails.
.PHONY: sim sim-check
SIM_ARGS ?=
SIM_OBJ := $(filter-out $(BUILD)/obj/mono.o,$(LIB_OBJ))

$(BUILD)/sim: tests/sim/sim.c $(SIM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(DEPFLAGS) -O2 -g -o $@ $< $(SIM_OBJ) $(LIBS)

sim: $(BUILD)/sim
	sh tests/sim/table.sh $(BUILD)/sim $(SIM_ARGS)

sim-check: $(BUILD)/sim
	$(BUILD)/sim --header --check --tasks 2000 --over 10 --secrets 10 $(SIM_ARGS)
	$(BUILD)/sim --check --tasks 2000 --over 10 --secrets 50 $(SIM_ARGS)
