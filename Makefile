# tpm-agent: `make` builds bin/tpm-agent and bin/tpm-key.
# `make demo` and `make check` first install missing Debian packages (contrib/install-deps.sh).

CC      ?= cc
PKGS    := tss2-esys tss2-sys tss2-mu tss2-rc tss2-tctildr libcrypto libsodium libassuan gpg-error
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -fstack-protector-strong $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -pthread

BUILD   := build
LIB     := $(BUILD)/libtpmagent.a

LIB_SRC    := $(wildcard protocol/*.c) $(wildcard keystore/*.c) $(wildcard pinentry/*.c) \
              agent/log.c agent/client.c
DAEMON_SRC := agent/tpm-agent.c $(wildcard agent/daemon_*.c)
KEY_SRC    := agent/tpm-key.c $(wildcard agent/cmd_*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all clean deps demo check unit integration bench
all: bin/tpm-agent bin/tpm-key

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

bin/tpm-agent: $(call obj,$(DAEMON_SRC)) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/tpm-key: $(call obj,$(KEY_SRC)) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/tpm-bench: $(call obj,$(BENCH_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

deps:
	@sh contrib/install-deps.sh

unit: $(UNIT_BINS) all
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: all
	@sh tests/run-integration.sh

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)
	@sh tests/run-integration.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh contrib/demo.sh

bench: all $(BUILD)/bench/tpm-bench
	@$(BUILD)/bench/tpm-bench

clean:
	rm -rf $(BUILD) bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
