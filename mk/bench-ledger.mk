# make bench-ledger: the ledger at factory scale (docs/ledger.md
# "Performance"). Not part of make check: it writes ~1 GB under /tmp and
# takes about a minute. BENCH_LEDGER_N=100000 for a quicker run.
BENCH_LEDGER_N ?= 1000000

.PHONY: bench-ledger
$(B)/tests/bench-ledger: tests/bench/bench-ledger.c $(B)/libthingca.a | $(B)/tests
	$(TC_LINK) -Itests -o $@ $< $(B)/libthingca.a $(TC_LIBS)

bench-ledger: $(B)/tests/bench-ledger
	$(B)/tests/bench-ledger $(BENCH_LEDGER_N)
