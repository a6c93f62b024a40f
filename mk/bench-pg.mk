# bench-pg.mk — `make bench-pg`: 1, 2 and 3 thingcad nodes on one local
# PostgreSQL ledger beside one node on SQLite, in the same run: issuances/s,
# p99 and certificates per commit (tests/bench/bench-pg.sh,
# docs/performance.md "Shared ledger on PostgreSQL"). Not part of make
# check: about two minutes on two cores.
#
#   make bench-pg BENCH_PG_DURATION=5 BENCH_PG_CONNS=16

BENCH_PG_DURATION ?= 10
BENCH_PG_CONNS    ?= 32
BENCH_PG_BODIES   ?= 20000

.PHONY: bench-pg
bench-pg: all $(B)/tests/gencsr
	BENCH_DURATION="$(BENCH_PG_DURATION)" BENCH_CONNS="$(BENCH_PG_CONNS)" \
	BENCH_BODIES="$(BENCH_PG_BODIES)" \
	  sh tests/bench/bench-pg.sh $(CURDIR)/$(B) $(CURDIR)/$(B)/tests/gencsr
