# driftless: plain GNU make, pkg-config for every library, builds under build/.
#
#   make            build everything (installs missing dependencies first)
#   make check      unit tests only (seconds)
#   make test       unit + integration tests (minutes, real time)
#   make sanitize   ASan+UBSan suite, TSan for the threaded parts
#   make bench      benchmarks: bench/RESULTS.md
#   make fuzz       each libFuzzer target for FUZZ_TIME s (60; clang)
#   make practicality  network profiles through build/impair: docs/PRACTICALITY.md
#   make demo       stream the bundled sample to a receiver on localhost
#   make install    PREFIX=/usr/local DESTDIR= : driftless-send, driftless-recv,
#                   driftless-impair, their man pages, the systemd units
#   make uninstall  the same variables: removes all of it
#   make deb        a Debian package: build/driftless_VERSION_ARCH.deb
#   V=1             show the commands

BUILD    ?= build
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/driftless
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The units read /etc/driftless/*.conf whatever the prefix: systemd's
# own configuration lives in /etc.
SYSCONFDIR ?= /etc
CC       ?= cc
CFLAGS   ?= -O2 -g
PKGS      = opus libuv alsa sndfile speexdsp libsrtp2
TEST_PKGS = cmocka
# The release's version is kept in one place, debian/changelog (0.2.0-1
# says 0.2.0); a git checkout says its commit instead.
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || \
              sed -n '1s/[^0-9]*\([0-9][0-9.]*\).*/\1/p' debian/changelog)
# The man pages' date, for a reproducible build: dpkg-buildpackage sets
# it from debian/changelog, a checkout takes its last commit's.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

# Install what is missing before pkg-config is asked for flags, except for
# goals that need no library (python3 writes the man pages).
NODEPS_GOALS = clean help uninstall deb
ifeq ($(filter $(NODEPS_GOALS),$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && command -v python3 >/dev/null && echo ok),ok)
$(info make: some libraries are missing; running scripts/install-deps)
DEPS_STATUS := $(shell scripts/install-deps --build >&2 && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error scripts/install-deps failed; install the packages it names and run make again)
endif
endif
endif

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wformat=2
ifneq ($(CI),)
WARN += -Werror
endif

# Sanitizer flags live in their own variable so that a user's CFLAGS= does
# not drop them (as in redis' src/Makefile).
SANITIZER ?=
ifeq ($(SANITIZER),address)
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(SANITIZER),thread)
SAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SANITIZER),fuzzer)
SAN_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -DDL_VERSION='"$(VERSION)"' -I. -Icommon \
              $(WARN) $(PKG_CFLAGS) -MMD -MP $(CFLAGS) $(SAN_FLAGS)
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS) $(SAN_FLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

ifeq ($(V),)
Q = @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q =
say =
endif

# common/: the pure core, in parts (wire, rx, tx, relay, util); shell/:
# what the programs share that does I/O or runs threads (line writer, key
# files, usage errors, the clock, name lookup).
COMMON_SRC = $(sort $(wildcard common/*/*.c))
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB        = $(BUILD)/libdriftless.a
SHELL_SRC  = $(sort $(wildcard shell/*.c))
SHELL_OBJ  = $(SHELL_SRC:%.c=$(BUILD)/obj/%.o)
SHELL_LIB  = $(BUILD)/libdriftless-shell.a

PROGRAMS   = sender receiver impair
PROG_BINS  = $(foreach p,$(PROGRAMS),$(if $(wildcard $(p)/*.c),$(BUILD)/$(p)))

UNIT_SRC   = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC   = $(sort $(wildcard tests/tools/*.c))
TOOL_BINS  = $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC  = $(sort $(wildcard bench/*.c))
BENCH_BINS = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

ALL_OBJ = $(COMMON_OBJ) $(SHELL_OBJ) \
          $(foreach p,$(PROGRAMS),$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(p)/*.c))) \
          $(UNIT_SRC:%.c=$(BUILD)/obj/%.o) $(TOOL_SRC:%.c=$(BUILD)/obj/%.o) \
          $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: deps all check test sanitize demo bench practicality fuzz fuzz-bins install uninstall clean help
.PHONY: programs man deb FORCE
.DEFAULT_GOAL := all

all: $(PROG_BINS) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(COMMON_OBJ)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

$(SHELL_LIB): $(SHELL_OBJ)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

define PROGRAM_RULE
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)) $(SHELL_LIB) $(LIB)
	$$(call say,LD,$$@)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_RULE,$(p))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(SHELL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS)

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(SHELL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(SHELL_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer targets: each tests/fuzz/fuzz_X.c with the common/ sources,
# built by clang with ASan+UBSan; `make fuzz FUZZ_TIME=60` runs each for
# that many seconds from its committed seed corpus (tests/fuzz/corpus/X).
FUZZ_SRC  = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_TIME ?= 60
FUZZ_CC   ?= clang

build/fuzz/%: tests/fuzz/%.c $(COMMON_SRC) $(wildcard common/*.h common/*/*.h)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -Icommon $(PKG_CFLAGS) \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer \
	  -o $@ $< $(COMMON_SRC) $(PKG_LIBS) -lpthread -lm

fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins
	$(Q)scripts/fuzz $(FUZZ_TIME) $(FUZZ_BINS)

# Benchmarks (minutes): cost against raw libopus, latency, the jitter
# buffer against the hindsight optimum and speexdsp, a peer receiver,
# capacity. Writes bench/RESULTS.md and bench/results.json.
bench: all
	$(Q)DL_BUILD=$(BUILD) scripts/bench

# The practicality matrix (minutes): every network profile through
# build/impair; writes docs/PRACTICALITY.md and docs/practicality/.
practicality: all
	$(Q)scripts/practicality --build $(BUILD)

# The test peers and tools (ffmpeg, GStreamer, PulseAudio, sox, ...).
deps:
	$(Q)scripts/install-deps

# Unit tests alone: seconds.
check: $(UNIT_BINS)
	$(Q)DL_BUILD=$(BUILD) tests/run --unit

# The whole suite: unit tests, then real-time integration tests,
# TEST_JOBS scripts at a time (those tagged solo run alone).
TEST_JOBS ?= 2
test: deps all
	$(Q)DL_BUILD=$(BUILD) tests/run -j $(TEST_JOBS)

# ASan+UBSan over the unit tests and the integration tests marked for it,
# then TSan over the threaded receiver. Each in its own build directory.
sanitize: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan SANITIZER=address all
	$(Q)DL_BUILD=build/asan DL_SANITIZER=address tests/run -j $(TEST_JOBS) --sanitize
	$(Q)$(MAKE) --no-print-directory BUILD=build/tsan SANITIZER=thread all
	$(Q)DL_BUILD=build/tsan DL_SANITIZER=thread tests/run -j $(TEST_JOBS) --sanitize --threaded

demo: all
	$(Q)scripts/demo

# Installed names that say what they are (README "Installing as a
# service"); in the build tree the programs keep their short names, which
# the tests and users' scripts call.
NAME_sender      = driftless-send
NAME_receiver    = driftless-recv
NAME_impair      = driftless-impair
SUMMARY_sender   = send audio as Opus over RTP/UDP on a drift-free schedule
SUMMARY_receiver = play an Opus/RTP stream on an ALSA device at a steady latency
SUMMARY_impair   = a seeded UDP relay that impairs an RTP stream (loss, delay, jitter)

# The man pages, written from each program's --help and --version by
# scripts/manpage (so that they cannot say other than the program does),
# with the sections of man/NAME.extra (files, see also) after them. Not
# under a sanitizer: there the programs run only for the tests.
MAN_PAGES = $(foreach p,$(PROGRAMS),$(BUILD)/man/$(NAME_$(p)).1)
ifeq ($(SANITIZER),)
all: man
endif
programs: $(PROG_BINS)
man: $(MAN_PAGES)

# The systemd units, the sysusers.d file and the example options files,
# with the install paths filled in.
UNITS     = $(BUILD)/systemd/driftless-recv@.service $(BUILD)/systemd/driftless-send@.service
EXAMPLES  = $(BUILD)/systemd/recv-example.conf $(BUILD)/systemd/send-example.conf
RT_PRIORITY      := $(shell sed -n 's/^.define DL_PLAYBACK_RT_PRIORITY *\([0-9]*\).*/\1/p' common/defaults.h)
SEND_RT_PRIORITY := $(shell sed -n 's/^.define DL_SENDER_RT_PRIORITY *\([0-9]*\).*/\1/p' common/defaults.h)
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
            -e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g' \
            -e 's|@RT_PRIORITY@|$(RT_PRIORITY)|g' -e 's|@SEND_RT_PRIORITY@|$(SEND_RT_PRIORITY)|g'

# The paths those files hold, rewritten only when one changes, so that
# `make install PREFIX=/usr` after a plain `make` installs no stale unit.
INSTALL_PATHS = $(BINDIR):$(SYSCONFDIR):$(DOCDIR):$(UNITDIR):$(RT_PRIORITY):$(SEND_RT_PRIORITY)
$(BUILD)/install-paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(INSTALL_PATHS)' | cmp -s - $@ || echo '$(INSTALL_PATHS)' >$@

$(BUILD)/systemd/%: systemd/%.in $(BUILD)/install-paths
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(SUBST) $< >$@
$(BUILD)/systemd/%.conf: systemd/%.conf $(BUILD)/install-paths
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(SUBST) $< >$@

define MAN_RULE
$(BUILD)/man/$(NAME_$(1)).1: $(BUILD)/$(1) scripts/manpage man/$(NAME_$(1)).extra $(BUILD)/install-paths
	@mkdir -p $$(dir $$@)
	$$(call say,MAN,$$@)$$(SUBST) man/$(NAME_$(1)).extra >$$@.extra && \
	  scripts/manpage --name $(NAME_$(1)) --summary '$(SUMMARY_$(1))' --extra $$@.extra \
	  $(BUILD)/$(1) >$$@.tmp && rm -f $$@.extra && mv $$@.tmp $$@
endef
$(foreach p,$(PROGRAMS),$(eval $(call MAN_RULE,$(p))))

# Where the FHS puts each: programs in BINDIR, pages gzip'd (-n: no time
# stamp, as Debian wants) in MANDIR/man1, units where systemd looks under
# PREFIX (/usr/local/lib/systemd/system is on its path), the README and
# the examples in DOCDIR, and an empty /etc/driftless for the options
# files. The user comes from sysusers.d: run systemd-sysusers after a
# source install (the Debian package does).
install: $(PROG_BINS) $(MAN_PAGES) $(UNITS) $(EXAMPLES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/driftless
	$(foreach p,$(PROGRAMS),install -m 755 $(BUILD)/$(p) $(DESTDIR)$(BINDIR)/$(NAME_$(p)) &&) true
	$(foreach p,$(PROGRAMS),gzip -9n <$(BUILD)/man/$(NAME_$(p)).1 >$(DESTDIR)$(MANDIR)/man1/$(NAME_$(p)).1.gz &&) true
	chmod 644 $(foreach p,$(PROGRAMS),$(DESTDIR)$(MANDIR)/man1/$(NAME_$(p)).1.gz)
	install -m 644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -m 644 systemd/driftless.sysusers $(DESTDIR)$(SYSUSERSDIR)/driftless.conf
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

# Everything install put there, and the directories that are driftless'
# own; /etc/driftless only if no options file is left in it.
uninstall:
	rm -f $(foreach p,$(PROGRAMS),$(DESTDIR)$(BINDIR)/$(NAME_$(p)) $(DESTDIR)$(MANDIR)/man1/$(NAME_$(p)).1.gz)
	rm -f $(DESTDIR)$(UNITDIR)/driftless-recv@.service $(DESTDIR)$(UNITDIR)/driftless-send@.service
	rm -f $(DESTDIR)$(SYSUSERSDIR)/driftless.conf
	rm -f $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/examples/recv-example.conf \
	  $(DESTDIR)$(DOCDIR)/examples/send-example.conf
	for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/driftless; do \
	  rmdir "$$d" 2>/dev/null || true; done

# A Debian package built by dpkg-buildpackage -us -uc -b in a copy of the
# tree under $(BUILD)/deb (so that neither the checkout nor its build/ is
# touched); the .deb is copied to $(BUILD)/. debian/rules builds with the
# flags of dpkg-buildflags and runs `make check`.
deb:
	$(Q)scripts/deb $(BUILD)

FORCE:

clean:
	rm -rf build

help:
	@sed -n '2,15s/^# \{0,1\}//p' Makefile

# Keep objects that pattern rules make on the way to a binary.
.SECONDARY:

-include $(ALL_OBJ:.o=.d)
