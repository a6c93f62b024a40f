# thingca — GNU make + pkg-config. See README.md.
# Modules are found by name: lib/*.c form build/libthingca.a, tests/unit/t-*.c
# are TAP unit tests, tests/integration/t-*.sh are TAP integration tests, and
# mk/*.mk add further targets (install, bench, fuzz) without touching this file.

PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
# libpq when installed: the PostgreSQL ledger backend (lib/ledger_pg.c).
PG_PKG    := $(shell pkg-config --exists libpq 2>/dev/null && echo libpq)
PKGS      := openssl libmicrohttpd sqlite3 jansson libsystemd libcurl gnutls $(PG_PKG)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VERSION   := 0.1.0

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Werror

# make check SAN=1: AddressSanitizer + UndefinedBehaviorSanitizer everywhere,
# objects under build/san so the two builds never mix.
ifeq ($(SAN),1)
SAN_CFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
B         := build/san
else
B         := build
endif

# The user's CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS (a packager sets them all,
# e.g. dpkg-buildflags) are added to, never replaced: what the build needs is
# in THINGCA_* and comes first, so `make CFLAGS=-O0` keeps -std=c11 and the
# include paths, and a user -O or -f flag still wins. -I$(B) before anything
# else under build/: under SAN=1 ledger.o must see build/san's generated
# sql_migrations.h, not a stale build/ one.
CFLAGS    ?= -O2 -g
THINGCA_CFLAGS  = -std=c11 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 \
                  -DTHINGCA_VERSION='"$(VERSION)"' $(WARN) -Ilib -I$(B) $(PKG_CFLAGS) \
                  -pthread -MMD -MP $(SAN_CFLAGS)
THINGCA_LDFLAGS = -pthread $(SAN_LDFLAGS)
THINGCA_LDLIBS  = $(PKG_LIBS) -lm
ifneq ($(PG_PKG),)
THINGCA_CFLAGS += -DTHINGCA_LEDGER_PG
endif
# Compile (and compile+link) with the required flags, then the user's.
TC_CC     = $(CC) $(THINGCA_CFLAGS) $(CPPFLAGS) $(CFLAGS)
TC_LINK   = $(CC) $(THINGCA_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(THINGCA_LDFLAGS) $(LDFLAGS)
TC_LIBS   = $(THINGCA_LDLIBS) $(LDLIBS)

LIB_SRC   := $(sort $(wildcard lib/*.c))
LIB_OBJ   := $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRC))
# The command line of thingca: daemon/thingca/*.c, linked only into thingca.
CLI_SRC   := $(sort $(wildcard daemon/thingca/*.c))
CLI_OBJ   := $(patsubst daemon/%.c,$(B)/daemon/%.o,$(CLI_SRC))
# Ledger migrations, one directory per SQL dialect (sql/sqlite/, ...).
SQL_SRC   := $(sort $(wildcard sql/sqlite/[0-9][0-9][0-9]-*.sql))
UNIT_SRC  := $(sort $(wildcard tests/unit/t-*.c))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
INTEG     := $(sort $(wildcard tests/integration/t-*.sh))

.PHONY: all check unit integration run deps clean lint format-check
all: $(B)/thingcad $(B)/thingca

$(B)/lib $(B)/daemon $(B)/daemon/thingca $(B)/tests:
	@mkdir -p $@

# The schema is compiled in: sql/sqlite/NNN-*.sql become one C array of
# migrations. -iquote: $(B)'s header, never a stale one of another build
# directory that -Ibuild would find first (SAN=1 builds in build/san).
$(B)/sql_sqlite.h: $(SQL_SRC) mk/sql2c.sh | $(B)/lib
	sh mk/sql2c.sh sqlite $(SQL_SRC) > $@.tmp && mv $@.tmp $@

SQL_PG    := $(sort $(wildcard sql/pg/[0-9][0-9][0-9]-*.sql))
$(B)/sql_pg.h: $(SQL_PG) mk/sql2c.sh | $(B)/lib
	sh mk/sql2c.sh pg $(SQL_PG) > $@.tmp && mv $@.tmp $@
$(B)/lib/ledger_pg.o: $(B)/sql_pg.h
$(B)/lib/ledger_pg.o: CFLAGS += -iquote $(B)
$(B)/lib/ledger_sqlite.o: $(B)/sql_sqlite.h
$(B)/lib/ledger_sqlite.o: CFLAGS += -iquote $(B)
$(B)/lib/%.o: lib/%.c | $(B)/lib
	$(TC_CC) -c -o $@ $<
$(B)/daemon/%.o: daemon/%.c | $(B)/daemon
	$(TC_CC) -Idaemon/thingca -c -o $@ $<
$(B)/daemon/thingca/%.o: daemon/thingca/%.c | $(B)/daemon/thingca
	$(TC_CC) -Idaemon/thingca -c -o $@ $<

$(B)/libthingca.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/thingcad: $(B)/daemon/thingcad.o $(B)/libthingca.a
	$(CC) $(CFLAGS) $(THINGCA_LDFLAGS) $(LDFLAGS) -o $@ $^ $(TC_LIBS)
$(B)/thingca: $(B)/daemon/thingca.o $(CLI_OBJ) $(B)/libthingca.a
	$(CC) $(CFLAGS) $(THINGCA_LDFLAGS) $(LDFLAGS) -o $@ $^ $(TC_LIBS)

$(B)/tests/%: tests/unit/%.c tests/tap.h $(B)/libthingca.a | $(B)/tests
	$(TC_LINK) -Itests -o $@ $< $(B)/libthingca.a $(TC_LIBS)

# Every test, one TAP summary. Integration tests find the binaries via
# THINGCA_BIN; THINGCA_VALGRIND="valgrind -q --error-exitcode=99" wraps the daemon.
check: all $(UNIT_BIN)
	THINGCA_BIN=$(CURDIR)/$(B) THINGCA_SRC=$(CURDIR) SAN=$(SAN) \
	  prove -f $(if $(V),-v) $(UNIT_BIN) $(INTEG)

unit: $(UNIT_BIN)
	THINGCA_SRC=$(CURDIR) prove -f $(UNIT_BIN)

integration: all
	THINGCA_BIN=$(CURDIR)/$(B) THINGCA_SRC=$(CURDIR) prove -f $(if $(T),$(T),$(INTEG))

# The main job on embedded defaults: demo CA, config and ledger under ./state,
# thingcad on 127.0.0.1:8180 in the foreground.
run: all
	sh mk/run.sh $(CURDIR)/$(B) $(CURDIR)/state

# Debian 12 packages for building and testing (a developer's or CI's
# machine, not a production host: docs/deployment.md "Runtime packages"
# lists what a line server needs, which the Debian package carries).
# libpq-dev and postgresql-15: the PostgreSQL ledger backend and its tests.
# `make deps-deb` (mk/deb.mk) adds the packaging tools.
DEB_PKGS := build-essential pkg-config libssl-dev libmicrohttpd-dev libgnutls28-dev \
	libsqlite3-dev sqlite3 libjansson-dev libsystemd-dev libcurl4-openssl-dev \
	libpq-dev postgresql-15 \
	curl openssl perl systemd man-db xxd softhsm2 opensc libengine-pkcs11-openssl \
	mosquitto mosquitto-clients wrk clang clang-tidy cppcheck libclang-rt-14-dev \
	strongswan-pki libstrongswan-extra-plugins golang-cfssl e2fsprogs jq
deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS); \
	else \
	  echo "run as root: apt-get update && apt-get install -y $(DEB_PKGS)"; \
	fi

# clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling is
# off: it asks for C11 Annex K (snprintf_s, memcpy_s), which glibc does not
# provide, so it flags every snprintf and memcpy with no fix to apply.
# clang-tidy runs once per file (xargs, one per CPU): clang-tidy 14 given
# several files reports clang-analyzer-valist.Uninitialized on every
# va_start/vsnprintf after the first file, falsely. Both tools always run
# (all findings in one go); either one fails lint.
lint:
	rc=0; \
	cppcheck --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem -q -Ilib -Itests/fuzz \
	  -Idaemon/thingca -i lib/csr_asn1.c lib daemon tests/fuzz || rc=1; \
	printf '%s\n' $(LIB_SRC) daemon/*.c $(CLI_SRC) $(wildcard tests/fuzz/*.c) | \
	xargs -I{} -P "$$(nproc)" clang-tidy --quiet {} \
	  -checks='-*,clang-analyzer-*,bugprone-*,cert-*,-bugprone-easily-swappable-parameters,-cert-err33-c,-bugprone-reserved-identifier,-cert-dcl37-c,-cert-dcl51-cpp,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
	  --warnings-as-errors='*' -- $(filter-out -MMD -MP,$(THINGCA_CFLAGS) $(CPPFLAGS) $(CFLAGS)) -Idaemon/thingca -Itests/fuzz || rc=1; \
	exit $$rc

format-check:
	clang-format --dry-run --Werror lib/*.c lib/*.h daemon/*.c daemon/thingca/*.[ch] tests/unit/*.c

clean:
	rm -rf build

-include $(wildcard mk/*.mk)
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(B)/daemon/thingcad.d $(B)/daemon/thingca.d
