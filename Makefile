# ngx_http_cart_module: "make run" serves a demo, "make test" runs every test.
SHELL := /bin/bash

NGINX       ?= /usr/sbin/nginx
NGINX_SRC   ?= /usr/share/nginx/src
BUILD       := $(CURDIR)/build
MODULE      := $(BUILD)/ngx_http_cart_module.so
CARTCTL     := $(BUILD)/cartctl
DEMO_STORE  := $(BUILD)/demo-store
DEMO_PORT   ?= 8080
NPM_TOOLS   := tests/js/node_modules/.package-lock.json

# Debian packages the build, the demo and the tests need
PACKAGES    := nginx nginx-dev libjansson-dev liblmdb-dev lmdb-utils \
               libssl-dev openssl curl gcc make libtest-base-perl \
               libtest-longstring-perl libhttp-message-perl libjemalloc-dev wrk clang \
               libpq-dev postgresql-15 libdbd-pg-perl zlib1g-dev libdeflate-dev

CFLAGS      ?= -O2 -g
CART_CFLAGS := -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Werror -Isrc
LIBS        := -ljansson -llmdb -lcrypto -lz -lm -lpthread
PG_INCLUDE  := /usr/include/postgresql

MODULE_SRCS := config ngx_http_cart_module.c $(wildcard src/ngx_http_*.[ch]) \
               src/cart_jwt.c src/cart_query.c src/cart_spree_query.c \
               src/cart_time.c src/cart_store_layout.c src/cart_gzip.c \
               $(wildcard src/cart_*.h)
CARTCTL_SRCS := src/cartctl.c src/cartctl_import.c src/cartctl_store.c \
                src/cartctl_follow.c src/cart_pgoutput.c src/cart_record.c src/cart_view.c src/cart_spree.c \
                src/cart_json.c src/cart_money.c src/cart_time.c \
                src/cart_store_layout.c src/cart_gzip.c src/cart_gzip_deflate.c
SHARED_HDRS := $(wildcard src/cart_*.h)

.PHONY: all deps npm-deps build cartctl run test test-real unit fuzz bench deb \
        clean

all: build

# what openresty's Test::Nginx needs besides ours, for make test-real
PACKAGES_REAL := liblist-moreutils-perl libwww-perl libtext-diff-perl valgrind

# installs only what is missing of $(1), so it is quick and quiet when all
# is there
define install
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call install,$(PACKAGES))

# what the targets below install first; DEPS= when a package build has
# its Build-Depends already (debian/rules)
DEPS        ?= deps

build: $(MODULE) $(CARTCTL)

cartctl: $(CARTCTL)

# the module, built against Debian's nginx the way any dynamic module is
$(MODULE): $(MODULE_SRCS) | $(DEPS)
	rm -rf $(BUILD)/nginx-src
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(BUILD)/nginx-src
	cd $(BUILD)/nginx-src && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR) >$(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }
	$(MAKE) -C $(BUILD)/nginx-src -f objs/Makefile modules \
	    >$(BUILD)/module-build.log 2>&1 \
	    || { grep -B2 -A8 -E 'error|Error' $(BUILD)/module-build.log; exit 1; }
	cp $(BUILD)/nginx-src/objs/ngx_http_cart_module.so $@

# jemalloc: import is allocation-bound (jansson), see bench/RESULTS.md
$(CARTCTL): $(CARTCTL_SRCS) $(SHARED_HDRS) src/cartctl.h | $(DEPS)
	mkdir -p $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CART_CFLAGS) -I$(PG_INCLUDE) $(LDFLAGS) \
	    -o $@ $(CARTCTL_SRCS) $(LIBS) -ldeflate -lpq -ljemalloc

$(DEMO_STORE): conf/demo.ndjson $(CARTCTL)
	rm -rf $@
	$(CARTCTL) --store $@ --map-size 64M import conf/demo.ndjson
	@# nginx workers run as nobody: they need LMDB's lock file
	if [ "$$(id -u)" = 0 ]; then chgrp -R nogroup $@ && chmod -R g+rwX $@; fi

run: build $(DEMO_STORE)
	@sh conf/demo.sh "$(NGINX)" "$(MODULE)" "$(DEMO_STORE)" "$(DEMO_PORT)"

# the unit tests of pure functions: plain C, no nginx
unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

UNIT_SRCS   := src/cart_record.c src/cart_view.c src/cart_spree.c \
               src/cart_json.c src/cart_money.c src/cart_time.c \
               src/cart_jwt.c src/cart_query.c src/cart_spree_query.c \
               src/cart_store_layout.c src/cart_pgoutput.c src/cart_gzip.c \
               src/cart_gzip_deflate.c

$(BUILD)/unit_tests: tests/unit_tests.c $(UNIT_SRCS) $(SHARED_HDRS) | deps
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CART_CFLAGS) -o $@ tests/unit_tests.c $(UNIT_SRCS) \
	    $(LIBS) -ldeflate

# what the suites are told: the nginx, module and cartctl under test
TEST_ENV    := PATH=$(BUILD):$(BUILD)/promtool:$$PATH \
               TEST_NGINX_BINARY=$(NGINX) \
               TEST_NGINX_LOAD_MODULES=$(MODULE) TEST_NGINX_CARTCTL=$(CARTCTL) \
               TEST_DEMO_STORE=$(DEMO_STORE)

# Test::Nginx suites (t/), cartctl and nginx -t tests (tests/), unit tests;
# the project's own Test::Nginx runner serves when the real one is absent
test: build $(BUILD)/unit_tests $(DEMO_STORE) deb $(BUILD)/promtool/promtool \
      $(NPM_TOOLS)
	@if perl -MTest::Nginx::Socket -e1 2>/dev/null; then runner=; \
	else runner=$(CURDIR)/t/runner; fi; \
	PERL5LIB=$${runner:+$$runner:}$(CURDIR)/t/lib$${PERL5LIB:+:$$PERL5LIB} \
	$(TEST_ENV) prove -r $(PROVE_FLAGS) tests/ t/

# the npm tools of tests/openapi.t and tests/demo_page.t (tests/js), at
# the versions of its package-lock.json; Debian's Chromium for the page
$(NPM_TOOLS): tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory npm-deps
	$(call install,chromium)
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error

npm-deps:
	$(call install,nodejs npm)

# Prometheus' own checker of the exposition format, for tests/metrics.t:
# taken out of Debian's prometheus package, which is not installed (it
# would start a Prometheus server); without it the test skips that check
$(BUILD)/promtool/promtool:
	rm -rf $(BUILD)/promtool && mkdir -p $(BUILD)/promtool
	-cd $(BUILD)/promtool && apt-get download -q prometheus >/dev/null 2>&1 \
	    && dpkg-deb -x prometheus_*.deb x && mv x/usr/bin/promtool . \
	    && rm -rf x prometheus_*.deb

# The t/ suites under openresty's Test::Nginx (installed, or its lib/ in
# TEST_NGINX_LIB): plain, reloading nginx between blocks (HUP), and under
# valgrind, failing on any report with a frame of this module's code.
REAL_ENV    := PERL5LIB=$(if $(TEST_NGINX_LIB),$(TEST_NGINX_LIB):)$(CURDIR)/t/lib \
               $(TEST_ENV)

test-real: build
	$(call install,$(PACKAGES_REAL))
	@$(REAL_ENV) perl -MTest::Nginx::Socket -e1 2>/dev/null || { \
	    echo "make test-real: openresty's Test::Nginx is not installed" \
	         "(README: Tests)"; exit 1; }
	$(REAL_ENV) prove -r $(PROVE_FLAGS) t/
	$(REAL_ENV) TEST_NGINX_USE_HUP=1 prove -r $(PROVE_FLAGS) t/
	$(REAL_ENV) TEST_NGINX_USE_VALGRIND=1 prove -r $(PROVE_FLAGS) t/ \
	    2>$(BUILD)/valgrind.log
	tests/valgrind-ours $(BUILD)/valgrind.log

fuzz: | deps
	$(MAKE) -C tests/fuzz

bench: build $(BUILD)/compress
	bench/run

# make bench's candidates for compressed views (issue 14): zlib, libdeflate
COMPRESS_SRCS := src/cart_record.c src/cart_view.c src/cart_spree.c \
                 src/cart_json.c src/cart_money.c src/cart_time.c \
                 src/cart_store_layout.c src/cart_gzip.c \
                 src/cart_gzip_deflate.c

$(BUILD)/compress: bench/compress.c $(COMPRESS_SRCS) $(SHARED_HDRS) | deps
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CART_CFLAGS) -o $@ bench/compress.c $(COMPRESS_SRCS) \
	    -ljansson -llmdb -lz -ldeflate -lm -lpthread

# Debian packages, built from a copy of the source files (build/deb/src)
# the way Debian builds its libnginx-mod-* packages, then checked by
# lintian: build/deb/*.deb
PACKAGES_DEB := debhelper dpkg-dev lintian

deb:
	$(call install,$(PACKAGES) $(PACKAGES_DEB))
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/src
	git ls-files -z --cached --others --exclude-standard \
	    | xargs -0 cp --parents -t $(BUILD)/deb/src
	@# nginx's configure, run in nginx-dev's tree by dh-sequence-nginx,
	@# leaves a Makefile there: removed again unless it was there before
	had=$$(test -e $(NGINX_SRC)/Makefile && echo 1); \
	cd $(BUILD)/deb/src && dpkg-buildpackage -us -uc -b \
	    >$(BUILD)/deb/build.log 2>&1; rc=$$?; \
	test -n "$$had" || rm -f $(NGINX_SRC)/Makefile; \
	test $$rc = 0 || { tail -40 $(BUILD)/deb/build.log; exit 1; }
	lintian --fail-on error $(BUILD)/deb/*.deb
	@ls -1 $(BUILD)/deb/*.deb

clean:
	rm -rf $(BUILD) t/servroot tests/js/node_modules
