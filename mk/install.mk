# install.mk — `make install` and `make uninstall` (included by the Makefile).
#
# Honours PREFIX (default /usr/local) and DESTDIR; every directory below can
# be overridden on the command line. The installed tree is listed in
# docs/deployment.md ("Installed files") and checked by
# tests/integration/t-install.sh: keep the three in step.
#
# Units and the backup script get @BINDIR@, @SBINDIR@ and @LIBEXECDIR@
# replaced with the final (DESTDIR-less) paths. SBINDIR (thingcad) is BINDIR
# unless set: the Debian package sets SBINDIR=/usr/sbin (debian/rules). The
# configuration itself is never installed or removed: only
# /etc/thingca/thingca.json.example, which is ours to replace.

BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(BINDIR)
LIBEXECDIR  ?= $(PREFIX)/lib
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/thingca
DATADIR     ?= $(PREFIX)/share/thingca
SYSCONFDIR  ?= /etc

INSTALL_UNITS    := thingcad.service thingcad.socket thingca-backup.service \
                    thingca-backup.timer
INSTALL_EXAMPLES := $(sort $(wildcard etc/jitp-*.json))
# The schema, for reference, as the tree has it: sql/*.sql or one directory
# per ledger backend (sql/sqlite/*.sql, ...), kept as DATADIR/sql/... .
INSTALL_SQL      := $(sort $(wildcard sql/*.sql sql/*/*.sql))
INSTALL_SQL_DIRS := $(sort $(filter-out sql/,$(dir $(INSTALL_SQL))))
# The example configuration, under whichever name etc/ gives it.
INSTALL_CONFIG   := $(firstword $(wildcard etc/thingca.json etc/thingca.json.example \
                    etc/thingca.example.json))

# Fills the install paths into a template (stdin to stdout).
INSTALL_SUBST := sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
                 -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'

.PHONY: install uninstall
install: all
	@test -n "$(INSTALL_CONFIG)" || \
	  { echo "install: no example configuration (etc/thingca.json)" >&2; exit 1; }
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	  $(DESTDIR)$(LIBEXECDIR)/thingca $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(DATADIR)/sql
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/thingca
	install -m 0755 $(B)/thingca $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/thingcad $(DESTDIR)$(SBINDIR)/
	for u in $(INSTALL_UNITS); do \
	  $(INSTALL_SUBST) systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	  mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL_SUBST) systemd/thingca-backup.sh > $(DESTDIR)$(LIBEXECDIR)/thingca/thingca-backup.tmp
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/thingca/thingca-backup.tmp
	mv -f $(DESTDIR)$(LIBEXECDIR)/thingca/thingca-backup.tmp $(DESTDIR)$(LIBEXECDIR)/thingca/thingca-backup
	install -m 0644 systemd/thingca.sysusers $(DESTDIR)$(SYSUSERSDIR)/thingca.conf
	install -m 0644 systemd/thingca.tmpfiles $(DESTDIR)$(TMPFILESDIR)/thingca.conf
	install -m 0644 docs/thingca.1 $(DESTDIR)$(MANDIR)/man1/thingca.1
	install -m 0644 docs/thingca.json.5 $(DESTDIR)$(MANDIR)/man5/thingca.json.5
	install -m 0644 docs/thingcad.8 $(DESTDIR)$(MANDIR)/man8/thingcad.8
	install -m 0644 docs/deployment.md docs/configuration.md $(DESTDIR)$(DOCDIR)/
	$(if $(INSTALL_EXAMPLES),install -m 0644 $(INSTALL_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/)
	for d in $(INSTALL_SQL_DIRS); do install -d -m 0755 $(DESTDIR)$(DATADIR)/$$d || exit 1; done
	for f in $(INSTALL_SQL); do install -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done
	install -m 0644 $(INSTALL_CONFIG) $(DESTDIR)$(SYSCONFDIR)/thingca/thingca.json.example

# Removes what install wrote, and our own directories when empty. Leaves
# /etc/thingca (the configuration and key), /var/lib/thingca (the ledger)
# and /var/backups/thingca alone.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/thingcad $(DESTDIR)$(BINDIR)/thingca
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(INSTALL_UNITS))
	rm -f $(DESTDIR)$(LIBEXECDIR)/thingca/thingca-backup
	rm -f $(DESTDIR)$(SYSUSERSDIR)/thingca.conf $(DESTDIR)$(TMPFILESDIR)/thingca.conf
	rm -f $(DESTDIR)$(MANDIR)/man1/thingca.1 $(DESTDIR)$(MANDIR)/man8/thingcad.8
	rm -f $(DESTDIR)$(MANDIR)/man5/thingca.json.5
	rm -f $(DESTDIR)$(DOCDIR)/deployment.md $(DESTDIR)$(DOCDIR)/configuration.md
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(INSTALL_EXAMPLES)))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/,$(INSTALL_SQL))
	rm -f $(DESTDIR)$(SYSCONFDIR)/thingca/thingca.json.example
	rmdir $(addprefix $(DESTDIR)$(DATADIR)/,$(INSTALL_SQL_DIRS)) \
	  $(DESTDIR)$(LIBEXECDIR)/thingca $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(DATADIR) 2>/dev/null || true
