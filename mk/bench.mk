# mk/bench.mk: benchmarks, included from the top-level Makefile. Not part of `make check`:
# they need the peers they compare against (scripts/setup-debian.sh installs them: awscli,
# python3-boto3, jq, curl, time; hyperfine is used when present).
#   make bench        injector vs a boto3 wrapper vs an aws CLI script vs curl, N = 1, 10, 100
#                     secrets, then the same for N = 1, 10, 100 SSM parameters; the tables go to
#                     stdout and bench/results.md. BENCH_ARGS: e.g. --runs 30, --services ssm
#                     (only the SSM rows; the rest of results.md stays)
#   make bench-storm  300 injector processes, 50 at a time, against a throttling endpoint: a
#                     Secrets Manager run, then an SSM run at SSM's 40/s scaled down alike (its
#                     table also goes into bench/results.md). STORM_ARGS: e.g. --services ssm
.PHONY: bench bench-storm

BENCH_ARGS ?=
STORM_ARGS ?=

bench: $(BUILD)/injector
	$(PYTHON) bench/bench.py --injector $(BUILD)/injector $(BENCH_ARGS)

bench-storm: $(BUILD)/injector
	$(PYTHON) bench/storm.py --injector $(BUILD)/injector $(STORM_ARGS)
