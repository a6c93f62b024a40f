# bench.mk — `make bench`: issuance throughput and latency of thingcad under
# wrk at concurrency 1, 8, 32 and 64, against the openssl speed crypto bound
# and cfssl measured in the same run (docs/performance.md): first with every
# server pinned to CPU 0 and wrk to CPU 1, then unpinned on both cores. Not
# part of `make check`: about twelve minutes on two cores.
#
#   make bench                          the whole table
#   make bench BENCH_DURATION=3 BENCH_CONNS=32 BENCH_PAIRS=ec:P-256/ec:P-256
#   make bench BENCH_TABLES=pinned      only the pinned table
#
# BENCH_* variables are passed to tests/bench/bench.sh (see its header).

BENCH_DURATION    ?= 10
BENCH_CONNS       ?= 1 8 32 64
BENCH_PAIRS       ?= ec:P-256/ec:P-256 rsa:2048/ec:P-256 rsa:2048/rsa:2048
BENCH_CFSSL_CONNS ?= 32
BENCH_TABLES      ?= pinned shared

.PHONY: bench
$(B)/tests/gencsr: tests/bench/gencsr.c | $(B)/tests
	$(TC_LINK) -o $@ $< $(TC_LIBS)

bench: all $(B)/tests/gencsr
	BENCH_DURATION="$(BENCH_DURATION)" BENCH_CONNS="$(BENCH_CONNS)" \
	BENCH_PAIRS="$(BENCH_PAIRS)" BENCH_CFSSL_CONNS="$(BENCH_CFSSL_CONNS)" \
	BENCH_TABLES="$(BENCH_TABLES)" \
	  sh tests/bench/bench.sh $(CURDIR)/$(B) $(CURDIR)/$(B)/tests/gencsr

# The PKCS#11 row (issue 5): the same load with the CA key in a SoftHSM2
# token beside the same key type in a file (tests/bench/bench-pkcs11.sh).
.PHONY: bench-pkcs11
bench-pkcs11: all $(B)/tests/gencsr
	BENCH_DURATION="$(BENCH_DURATION)" \
	  sh tests/bench/bench-pkcs11.sh $(CURDIR)/$(B) $(CURDIR)/$(B)/tests/gencsr

# The two heavy stages per certificate (CSR check, certificate build + sign)
# timed side by side with the OpenSSL object calls they replaced and with
# the bare verify / sign under them (tests/bench/bench-stages.c).
BENCH_STAGES_ITER ?= 2000
.PHONY: bench-stages
$(B)/tests/bench-stages: tests/bench/bench-stages.c $(B)/libthingca.a | $(B)/tests
	$(TC_LINK) -Itests -o $@ $< $(B)/libthingca.a $(TC_LIBS)

bench-stages: $(B)/tests/bench-stages
	$(B)/tests/bench-stages $(CURDIR) $(BENCH_STAGES_ITER)

# Instructions (callgrind) and syscalls per certificate on a pre-filled
# ledger, for a fixed number of issuances: figures a busy machine does not
# skew (tests/bench/profile.sh; docs/performance.md "Pinned, issue 18").
PROFILE_N ?= 2000
.PHONY: bench-profile
bench-profile: all $(B)/tests/gencsr $(B)/tests/bench-ledger
	PROFILE_N="$(PROFILE_N)" sh tests/bench/profile.sh $(CURDIR)/$(B)
