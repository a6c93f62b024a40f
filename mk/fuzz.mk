# make fuzz: libFuzzer targets of tests/fuzz/fz-*.c under build/fuzz/, the
# library recompiled with clang, coverage, ASan and UBSan (UB aborts).
# make fuzz-run SECONDS=N: each target for N seconds on its seed corpus
# (tests/fuzz/corpus-NAME, read-only) plus build/fuzz/corpus-NAME, where
# libFuzzer keeps what it finds; a crash fails the run and leaves
# build/fuzz/artifacts/NAME-crash-*: add it to tests/fuzz/corpus-NAME/ so
# tests/unit/t-fuzz-regress.c replays it under make check. make -j2
# fuzz-run runs two targets at a time.
FUZZ_CC      ?= clang
FZ           := build/fuzz
SECONDS      ?= 60
# libFuzzer limits per run: memory a run may use, seconds one input may
# take (a slow input is a finding too), and input lengths: the request body
# holds a PEM CSR of up to 2 * CSR_MAX_DER; the others are smaller.
FUZZ_RSS_MB  ?= 2048
FUZZ_TIMEOUT ?= 10
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
# FUZZ_CFLAGS plays the part of CFLAGS for this other compiler (the user's
# optimisation and debug flags; CFLAGS itself is meant for $(CC)); the
# user's CPPFLAGS and LDFLAGS apply as everywhere else. The required flags
# are FUZZ_REQ_CFLAGS and come first.
FUZZ_CFLAGS  ?= -O1 -g
FUZZ_REQ_CFLAGS := -std=c11 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 \
                -DTHINGCA_VERSION='"$(VERSION)"' $(WARN) -Ilib -I$(FZ) \
                $(PKG_CFLAGS) -pthread $(FUZZ_SAN)
FUZZ_CC_ALL   = $(FUZZ_CC) $(FUZZ_REQ_CFLAGS) $(CPPFLAGS) $(FUZZ_CFLAGS)
FUZZ_TARGETS := request config jitp csr_der
fuzz_src      = tests/fuzz/fz-$(subst _,-,$(1)).c
FUZZ_MAXLEN_request := 40000
FUZZ_MAXLEN_config  := 16384
FUZZ_MAXLEN_jitp    := 16384
FUZZ_MAXLEN_csr_der := 20000
FUZZ_DICT_request   := -dict=tests/fuzz/json.dict
FUZZ_DICT_config    := -dict=tests/fuzz/json.dict
FUZZ_DICT_jitp      := -dict=tests/fuzz/json.dict
FUZZ_LIB_OBJ := $(patsubst lib/%.c,$(FZ)/lib/%.o,$(LIB_SRC))
FUZZ_BINS    := $(patsubst %,$(FZ)/fz-%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-run $(patsubst %,fuzz-run-%,$(FUZZ_TARGETS))
fuzz: $(FUZZ_BINS)

$(FZ)/lib $(FZ)/artifacts:
	@mkdir -p $@
$(FZ)/sql_sqlite.h: $(SQL_SRC) mk/sql2c.sh | $(FZ)/lib
	sh mk/sql2c.sh sqlite $(SQL_SRC) > $@.tmp && mv $@.tmp $@
$(FZ)/lib/ledger_sqlite.o: $(FZ)/sql_sqlite.h
$(FZ)/lib/%.o: lib/%.c | $(FZ)/lib
	$(FUZZ_CC_ALL) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(FZ)/libthingca.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

define fuzz_target
$(FZ)/fz-$(1): $(call fuzz_src,$(1)) tests/fuzz/fuzz.h $(FZ)/libthingca.a
	$(FUZZ_CC_ALL) -fsanitize=fuzzer -Itests/fuzz $(LDFLAGS) -o $$@ $$< \
	  $(FZ)/libthingca.a $(PKG_LIBS) -pthread -lm $(LDLIBS)

fuzz-run-$(1): $(FZ)/fz-$(1) | $(FZ)/artifacts
	@mkdir -p $(FZ)/corpus-$(1)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(FZ)/fz-$(1) -max_total_time=$(SECONDS) -rss_limit_mb=$(FUZZ_RSS_MB) \
	  -timeout=$(FUZZ_TIMEOUT) -max_len=$(FUZZ_MAXLEN_$(1)) \
	  $(FUZZ_DICT_$(1)) -print_final_stats=1 \
	  -artifact_prefix=$(FZ)/artifacts/$(1)- \
	  $(FZ)/corpus-$(1) tests/fuzz/corpus-$(1) </dev/null \
	  > $(FZ)/fuzz-$(1).log 2>&1 \
	  || { tail -n 60 $(FZ)/fuzz-$(1).log; exit 1; }
	@grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' \
	  $(FZ)/fuzz-$(1).log | sed 's/^/$(1): /'
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

fuzz-run: $(patsubst %,fuzz-run-%,$(FUZZ_TARGETS))

# The regression unit test includes the target sources.
$(B)/tests/t-fuzz-regress: $(wildcard tests/fuzz/*.c tests/fuzz/*.h)

-include $(FUZZ_LIB_OBJ:.o=.d)
