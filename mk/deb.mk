# deb.mk — `make deb`: the Debian package (debian/), built with
# dpkg-buildpackage -us -uc -b from a copy of the source files as they are
# in the working tree (git's tracked and untracked-but-not-ignored files; a
# plain copy without build/ outside git), so the package build's
# `make clean` never touches this checkout's build/.
# Results land in build/deb/: thingca_VERSION_ARCH.deb, the .changes and
# .buildinfo; `make deb-lint` runs lintian on them; `make deb-ci` (root, CI)
# installs the .deb with apt, runs the autopkgtest with the null runner and
# purges it (mk/deb-ci.sh). `make deps-deb` installs the packaging tools.
#
#   make deb                              build, with the tests (make check)
#   make deb DEB_BUILD_OPTIONS=nocheck    without them (CI: the suite already
#                                         ran); also sets the nocheck profile
#
# A new VERSION in the Makefile needs a debian/changelog entry of the same
# version (`dch -v VERSION`, or by hand): debian/rules refuses a mismatch.
# docs/deployment.md ("From the Debian package") says what the package does.

DEB_OUT      := build/deb
DEB_SRC      := $(DEB_OUT)/src/thingca-$(VERSION)
DEB_BUILD_OPTIONS ?= parallel=$(shell nproc 2>/dev/null || echo 1)
# nocheck in the options drops the test-only Build-Depends too.
DEB_BUILD_PROFILES ?= $(filter nocheck,$(DEB_BUILD_OPTIONS))
DEB_TOOL_PKGS := debhelper dpkg-dev lintian autopkgtest man-db
# Lintian: errors and warnings fail, and so do info and pedantic tags (fixed
# or overridden with a reason in debian/thingca.lintian-overrides).
LINTIAN_OPTS ?= --pedantic --display-info --fail-on error,warning,info,pedantic

.PHONY: deb deb-lint deb-ci deps-deb
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	if git -C $(CURDIR) rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git -C $(CURDIR) ls-files -z --cached --others --exclude-standard | \
	    tar -C $(CURDIR) --null --ignore-failed-read -T - -cf - | tar -C $(DEB_SRC) -xf -; \
	else \
	  tar -C $(CURDIR) --exclude=./build --exclude=./.git -cf - . | tar -C $(DEB_SRC) -xf -; \
	fi
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	  -u CFLAGS -u CPPFLAGS -u LDFLAGS -u LDLIBS \
	  DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS)" DEB_BUILD_PROFILES="$(DEB_BUILD_PROFILES)" \
	  dpkg-buildpackage -us -uc -b
	mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.changes $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/
	@ls -1 $(DEB_OUT)/*.deb $(DEB_OUT)/*.changes

deb-lint:
	lintian $(LINTIAN_OPTS) $(DEB_OUT)/*.changes

deb-ci:
	DEB_OUT=$(DEB_OUT) prove -v mk/deb-ci.sh

deps-deb:
	@if [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_TOOL_PKGS); \
	else \
	  echo "run as root: apt-get install -y $(DEB_TOOL_PKGS)"; \
	fi
