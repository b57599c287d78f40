# tpm-agent: `make` builds bin/tpm-agent and bin/tpm-key.
# `make demo` and `make check` first install missing Debian packages (contrib/install-deps.sh).

CC      ?= cc
PKGS    := tss2-esys tss2-sys tss2-mu tss2-rc tss2-tctildr libcrypto libsodium libassuan gpg-error
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -fstack-protector-strong $(PKG_CFLAGS)
CFLAGS  += $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS  += $(PKG_LIBS) -pthread

# BUILD and BIN are overridden by asan-check (build-asan/, build-asan/bin/).
BUILD   ?= build
BIN     ?= bin
LIB     := $(BUILD)/libtpmagent.a

# The layers (libtpmagent.a), then the two programs: the daemon in agent/, the CLI in
# agent/cli/ (its client.c is the socket client the benchmark links too).
LIB_SRC    := $(wildcard protocol/*.c) $(wildcard keystore/*.c) $(wildcard pinentry/*.c)
DAEMON_SRC := agent/tpm-agent.c $(wildcard agent/daemon_*.c)
KEY_SRC    := agent/cli/tpm-key.c agent/cli/client.c $(wildcard agent/cli/cmd_*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all clean deps demo check unit integration bench unit-bins fuzz fuzz-smoke asan-check valgrind-check conformance
all: $(BIN)/tpm-agent $(BIN)/tpm-key

unit-bins: $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/tpm-agent: $(call obj,$(DAEMON_SRC)) $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/tpm-key: $(call obj,$(KEY_SRC)) $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/tpm-bench: $(call obj,$(BENCH_SRC) agent/cli/client.c) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

# tpm-key setup --host writes the system units it was built with (contrib/embed.sh).
HOST_UNITS := contrib/systemd/system/tpm-agent-host.socket contrib/systemd/system/tpm-agent-host.service
$(BUILD)/gen/host_units.h: $(HOST_UNITS) contrib/embed.sh
	@mkdir -p $(dir $@)
	sh contrib/embed.sh $(HOST_UNITS) >$@.tmp && mv $@.tmp $@
$(BUILD)/agent/cli/cmd_setup_host.o: $(BUILD)/gen/host_units.h
$(BUILD)/agent/cli/cmd_setup_host.o: CFLAGS += -I$(BUILD)/gen

deps:
	@sh contrib/install-deps.sh

unit: $(UNIT_BINS) all
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: all
	@sh tests/run-integration.sh

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@sh tests/lint.sh
	@sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/run-integration.sh
	@$(MAKE) --no-print-directory conformance
	@$(MAKE) --no-print-directory asan-check
	@$(MAKE) --no-print-directory valgrind-check
	@$(MAKE) --no-print-directory fuzz-smoke

demo: deps
	@$(MAKE) --no-print-directory all
	@sh contrib/demo.sh

bench: all $(BUILD)/bench/tpm-bench
	@$(BUILD)/bench/tpm-bench

# ---------------------------------------------------------------- fuzzing (clang, libFuzzer)
# Project sources are compiled again with the fuzzer's flags into build/fuzz/obj; each
# tests/fuzz/fuzz_<name>.c links with them into build/fuzz/fuzz_<name>.
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -DFUZZ_DATA=\"$(CURDIR)/tests/fuzz/data\" -g -O1 -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror $(PKG_CFLAGS)
FUZZ_SRC     := $(LIB_SRC) $(filter-out agent/tpm-agent.c,$(DAEMON_SRC)) tests/fuzz/fixture.c
FUZZ_OBJS    := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRC))
FUZZ_LIB     := $(FUZZ_DIR)/libfuzzagent.a
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
# make check: 13 harnesses x 10 s keeps CI under its 40 minutes; `make fuzz-smoke
# FUZZ_SECONDS=300` (or `make fuzz`) for longer runs.
FUZZ_SECONDS ?= 10
FUZZ_RUNS    ?= 200000

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) -pthread \
		$(if $(filter fuzz_agentmsg,$(notdir $@)),-Wl$(,)--wrap=crypto_pwhash_str -Wl$(,)--wrap=crypto_pwhash_str_verify)

, := ,
.SECONDARY: $(patsubst %,$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_NAMES))

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz-smoke: fuzz
	@sh tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_RUNS) $(FUZZ_NAMES)

# ---------------------------------------------------------------- sanitizers
# asan-check: everything built with gcc -fsanitize=address,undefined into build-asan/,
# then the unit and integration tests against those binaries; any report fails.
ASAN_BUILD := build-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_BUILD)/tests/%,$(UNIT_SRC))

asan-check: deps
	@CFLAGS="-O2 -g" $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) BIN=$(ASAN_BUILD)/bin \
		EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="$(ASAN_FLAGS)" all unit-bins
	@sh tests/sanitizers/asan-check.sh $(ASAN_BUILD) $(ASAN_UNIT_BINS)

# valgrind-check: the agent (normal build) under valgrind memcheck for a few
# integration tests; any definite leak or invalid access fails.
VALGRIND_TESTS ?= test_ssh_add test_sshsig test_gpg

valgrind-check: deps
	@$(MAKE) --no-print-directory all
	@sh tests/sanitizers/valgrind-check.sh $(VALGRIND_TESTS)

# ---------------------------------------------------------------- install
# make install [PREFIX=/usr/local] [DESTDIR=] [BINDIR= MANDIR= SYSTEMDUSERUNITDIR=
#   SYSTEMDSYSTEMUNITDIR= BASHCOMPDIR= ZSHCOMPDIR=]
# The units' ExecStart names $(BINDIR) (without DESTDIR: where the binary will live).
PREFIX             ?= /usr/local
BINDIR             ?= $(PREFIX)/bin
MANDIR             ?= $(PREFIX)/share/man
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user
SYSTEMDSYSTEMUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR        ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR         ?= $(PREFIX)/share/zsh/vendor-completions
INSTALL            ?= install
UNITS              := tpm-agent.socket tpm-agent-gpg.socket tpm-agent.service

.PHONY: install uninstall lint
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(SYSTEMDUSERUNITDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 0755 $(BIN)/tpm-agent $(BIN)/tpm-key $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 man/tpm-agent.1 man/tpm-key.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 man/tpm-agent.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 man/tpm-agent-security.7 $(DESTDIR)$(MANDIR)/man7/
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' contrib/systemd/$$u >$(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u.tmp $(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 contrib/completion/tpm-key.bash $(DESTDIR)$(BASHCOMPDIR)/tpm-key
	$(INSTALL) -m 0644 contrib/completion/_tpm-key $(DESTDIR)$(ZSHCOMPDIR)/_tpm-key
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)
	for u in $(HOST_UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g; s|@ROOT@||g' $$u >$(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/$$(basename $$u) || exit 1; \
		chmod 0644 $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/$$(basename $$u); \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tpm-agent $(DESTDIR)$(BINDIR)/tpm-key
	rm -f $(DESTDIR)$(MANDIR)/man1/tpm-agent.1 $(DESTDIR)$(MANDIR)/man1/tpm-key.1
	rm -f $(DESTDIR)$(MANDIR)/man5/tpm-agent.conf.5 $(DESTDIR)$(BASHCOMPDIR)/tpm-key
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_tpm-key
	rm -f $(DESTDIR)$(MANDIR)/man7/tpm-agent-security.7
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDUSERUNITDIR)/$$u; done
	for u in $(HOST_UNITS); do rm -f $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/$$(basename $$u); done

# conformance: OpenSSH's own agent regression tests (regress/ of the installed version's
# source, fetched with a private apt sources list and built once into build/openssh)
# with tpm-agent as the agent under test (tests/conformance/run.sh).
conformance: deps
	@$(MAKE) --no-print-directory all
	@sh tests/conformance/run.sh

# lint: mandoc -Tlint on the man pages, systemd-analyze verify on the units.
lint: all
	@sh tests/lint.sh

clean:
	rm -rf $(BUILD) bin $(ASAN_BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
