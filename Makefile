# Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC
# quilt: one GNU Makefile, no configure.
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g
SAN     ?=
VERSION := 0.1.0

SODIUM_CFLAGS := $(shell pkg-config --cflags libsodium 2>/dev/null)
SODIUM_LIBS   := $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)

# Flags the code needs: kept apart so `make CFLAGS=-O0` keeps them.  CFLAGS,
# CPPFLAGS and LDFLAGS are the builder's: dpkg-buildflags puts hardening
# (-D_FORTIFY_SOURCE=2) in CPPFLAGS, so every compile has it, after ours
# (-Ilibcommon first) and after CFLAGS, in make's own order.
QCFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -DQUILT_VERSION='"$(VERSION)"' \
	-Wall -Wextra -Wno-unused-parameter -Ilibcommon $(SODIUM_CFLAGS) -MMD -MP
ifneq ($(SAN),)
QCFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
QLDFLAGS += -fsanitize=$(SAN)
endif
LDLIBS += $(SODIUM_LIBS) -lm

BUILD := build$(if $(SAN),-san)
# make soak: its length in seconds
SOAK_SECONDS ?= 600
# Sanitized programs go apart, so that a plain `make` never keeps them.
BIN := bin$(if $(SAN),-san)
LIBSRC := $(wildcard libcommon/*.c)
LIBOBJ := $(LIBSRC:%.c=$(BUILD)/%.o)
CMDS   := $(sort $(patsubst cmd/%.c,%,$(wildcard cmd/*.c)) \
	$(patsubst cmd/%/,%,$(dir $(wildcard cmd/*/main.c))))
PROGS  := $(CMDS:%=$(BIN)/%)
UNITS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/t_*.c))
FUZZ   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY := $(FUZZ:%=$(BUILD)/tests/replay_%)
# Test peers in C (proxies, scripted Spread daemons...): $(BUILD)/helpers/NAME.
HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(wildcard tests/helpers/*.c))
MAN1   := $(wildcard man/*.1)
MAN57  := $(wildcard man/*.5 man/*.7)

.PHONY: all check demo deps bench soak fuzz lint install uninstall clean units deb-check
# The objects of cmd/ are made through a pattern rule, so make would take
# them for intermediate files and delete them after each link (and build
# every one again next time): keep every target.
.SECONDARY:
all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(QCFLAGS) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/libcommon.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

# A program is cmd/NAME.c, or cmd/NAME/*.c when it grows.
objs_of = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1).c cmd/$(1)/*.c))
.SECONDEXPANSION:
$(BIN)/%: $$(call objs_of,$$*) $(BUILD)/libcommon.a
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(QLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/t_%: $(BUILD)/tests/unit/t_%.o $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(QLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# make check replays each fuzz corpus through the harness with a plain driver.
$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(QLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/fuzz/replay.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(QCFLAGS) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/helpers/%: $(BUILD)/tests/helpers/%.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(QLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The router of quilt-relay without its main: for its fuzz harness and its
# unit test, which drive the rooms directly.
RELAY_ROOMS := $(filter-out cmd/quilt-relay/main.c,$(wildcard cmd/quilt-relay/*.c))
RELAY_OBJ := $(RELAY_ROOMS:%.c=$(BUILD)/%.o)
RELAY_FUZZ := fuzz_relay fuzz_sd
$(RELAY_FUZZ:%=$(BUILD)/tests/replay_%): $(BUILD)/tests/replay_%: \
    $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(RELAY_OBJ) \
    $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(QLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/t_relay: $(BUILD)/tests/unit/t_relay.o $(RELAY_OBJ) \
    $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(QLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

units: $(UNITS) $(REPLAY) $(HELPERS)

check: deps-check all units
	@SAN=$(SAN) BUILD=$(BUILD) BIN=$(BIN) tests/run

deps-check:
	@scripts/deps --check || scripts/deps

deps:
	scripts/deps

demo: deps-check all
	scripts/demo

bench: all
	scripts/bench

# Hostile peers against a listener, a sealed listener and a relay mesh while
# two senders stream with -r (scripts/soak); SOAK_SECONDS (default 600).
soak: all units
	@SOAK_SECONDS=$(SOAK_SECONDS) BUILD=$(BUILD) scripts/soak

# The Debian package, built from a scratch copy of the tree, checked and run
# from a scratch root (scripts/deb-check; CI runs it after check).
deb-check:
	@scripts/deb-check

# libFuzzer, time-boxed: FUZZTIME seconds per harness.
FUZZTIME ?= 30
fuzz:
	@mkdir -p build-fuzz
	@for f in $(FUZZ); do \
		extra=; case " $(RELAY_FUZZ) " in *" $$f "*) extra="$(RELAY_ROOMS)";; esac; \
		clang -g -O1 -fsanitize=fuzzer,address,undefined $(QCFLAGS:-MMD=) $(CPPFLAGS) \
			-o build-fuzz/$$f tests/fuzz/$$f.c $$extra $(LIBSRC) $(SODIUM_LIBS) || exit 1; \
		mkdir -p build-fuzz/corpus-$$f; \
		build-fuzz/$$f -max_total_time=$(FUZZTIME) build-fuzz/corpus-$$f tests/fuzz/corpus/$$f || exit 1; \
	done

# Every C file of ours: programs, libcommon, unit tests, fuzz harnesses and
# test helpers.
LINTSRC := $(wildcard cmd/*.[ch] cmd/*/*.[ch] libcommon/*.[ch] tests/unit/*.[ch] \
	tests/fuzz/*.[ch] tests/helpers/*.[ch])
lint:
	mandoc -Tlint -Wwarning $(MAN1) $(MAN57)
	clang-format --dry-run -Werror $(LINTSRC)

# install: the programs, scripts/mesh as quilt-mesh, the man pages, one bash
# completion file (bash-completion loads the file named after the command:
# each other program's name is a link to it) and the example systemd units,
# whose ExecStart= names $(PREFIX)/bin.  Debian's build passes
# SYSTEMDUNITDIR=/lib/systemd/system (bookworm's debhelper looks there).
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SDUNITS := $(wildcard scripts/systemd/*.service scripts/systemd/*.socket)
COMPLETED := quilt-mesh $(CMDS)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 755 scripts/mesh $(DESTDIR)$(PREFIX)/bin/quilt-mesh
	install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/
	for m in $(MAN57); do s=$${m##*.}; \
		install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	install -m 644 scripts/bash-completion $(DESTDIR)$(BASHCOMPDIR)/quilt-listen
	for p in $(filter-out quilt-listen,$(COMPLETED)); do \
		ln -sf quilt-listen $(DESTDIR)$(BASHCOMPDIR)/$$p || exit 1; done
	for u in $(SDUNITS); do \
		sed 's|=/usr/bin/|=$(PREFIX)/bin/|' $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; done

uninstall:
	for p in $(CMDS) quilt-mesh; do rm -f $(DESTDIR)$(PREFIX)/bin/$$p; done
	for m in $(notdir $(MAN1)); do rm -f $(DESTDIR)$(PREFIX)/share/man/man1/$$m; done
	for m in $(notdir $(MAN57)); do s=$${m##*.}; \
		rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$$m; done
	for p in $(COMPLETED); do rm -f $(DESTDIR)$(BASHCOMPDIR)/$$p; done
	for u in $(notdir $(SDUNITS)); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done

clean:
	rm -rf build build-san build-fuzz bin bin-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)
