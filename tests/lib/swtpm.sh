# swtpm.sh: start and stop a private swtpm for tests (sourced, POSIX sh).
# swtpm_start sets SWTPM_DIR, SWTPM_PORT, SWTPM_PID and SWTPM_TCTI; it never touches
# /dev/tpm*. swtpm_stop kills exactly the pid it started and removes the state dir.

swtpm_port_busy() {
	# Something answers on 127.0.0.1:$1? (/dev/tcp is bash's, hence bash -c)
	bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# port_guess: prints an even loopback port P with nothing answering on P or P+1. It
# lies below the kernel's ephemeral range: outgoing connections (the swtpm TCTI opens
# one per command) take their local ports from that range, and a port held that way
# cannot be bound, yet nothing answers on it. Still a guess: callers bind and retry.
port_guess() {
	pg_top=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || pg_top=32768
	[ "${pg_top:-0}" -gt 12000 ] 2>/dev/null || pg_top=32768
	pg_n=0
	while [ $pg_n -lt 50 ]; do
		pg_n=$((pg_n + 1))
		pg_r=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
		pg_p=$(( 10000 + (pg_r % ((pg_top - 10002) / 2)) * 2 ))
		swtpm_port_busy "$pg_p" || swtpm_port_busy $((pg_p + 1)) || { echo "$pg_p"; return 0; }
	done
	return 1
}

swtpm_start() {
	SWTPM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-swtpm.XXXXXX") || return 1
	# SWTPM_STATE_FROM: a state dir to start from (e.g. made by swtpm_setup with an EK cert).
	if [ -n "${SWTPM_STATE_FROM:-}" ]; then cp -a "$SWTPM_STATE_FROM"/. "$SWTPM_DIR"/ || return 1; fi
	tries=0
	while [ $tries -lt 20 ]; do
		tries=$((tries + 1))
		SWTPM_PORT=$(port_guess) || break
		if swtpm socket --tpm2 --tpmstate dir="$SWTPM_DIR" \
			--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
			--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
			--flags not-need-init,startup-clear \
			--pid file="$SWTPM_DIR/pid" --daemon 2>"$SWTPM_DIR/log"; then
			SWTPM_PID=$(cat "$SWTPM_DIR/pid")
			SWTPM_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
			export SWTPM_DIR SWTPM_PORT SWTPM_PID SWTPM_TCTI
			swtpm_da_params 32 1 1
			return 0
		fi
	done
	echo "swtpm: could not start on a free loopback port (see $SWTPM_DIR/log)" >&2
	return 1
}

# swtpm_da_params MAX_TRIES INTERVAL RECOVERY: the TPM's dictionary-attack parameters
# (TPM2_DictionaryAttackParameters; lockout auth empty), then a cleared counter. The
# harness uses 32 tries forgotten after 1 s, so a test with wrong PINs never waits
# swtpm's default 1000 s. Only while no agent holds the swtpm (one client at a time).
swtpm_da_params() {
	TPM2TOOLS_TCTI="$SWTPM_TCTI" timeout 30 tpm2_dictionarylockout -s -n "$1" -t "$2" -l "$3" \
		>/dev/null 2>>"$SWTPM_DIR/log" &&
	TPM2TOOLS_TCTI="$SWTPM_TCTI" timeout 30 tpm2_dictionarylockout -c >/dev/null 2>>"$SWTPM_DIR/log" ||
		echo "swtpm: warning: cannot set the dictionary-attack parameters (see $SWTPM_DIR/log)" >&2
}

# swtpm_restart: stops swtpm and starts it again on its state and ports (a TPM reset:
# the null hierarchy's seed is new; transient objects and sessions are gone).
swtpm_restart() {
	kill "$SWTPM_PID" 2>/dev/null
	n=0
	while kill -0 "$SWTPM_PID" 2>/dev/null && [ $n -lt 100 ]; do
		sleep 0.1; n=$((n + 1))
	done
	swtpm socket --tpm2 --tpmstate dir="$SWTPM_DIR" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --pid file="$SWTPM_DIR/pid" --daemon \
		2>>"$SWTPM_DIR/log" || return 1
	SWTPM_PID=$(cat "$SWTPM_DIR/pid")
}

swtpm_stop() {
	if [ -n "${SWTPM_PID:-}" ]; then
		kill "$SWTPM_PID" 2>/dev/null
		n=0
		while kill -0 "$SWTPM_PID" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1; n=$((n + 1))
		done
		kill -9 "$SWTPM_PID" 2>/dev/null
	fi
	[ -n "${SWTPM_DIR:-}" ] && rm -rf "$SWTPM_DIR"
	SWTPM_PID=
	SWTPM_DIR=
}

# swtpm_make_ek_state DIR [SWTPM_SETUP ARGS...]: a TPM state in DIR/state with an RSA EK
# and its certificate in NV (swtpm_setup --create-ek-cert), issued by a private local CA
# in DIR/ca (DIR/ca/swtpm-localca-rootca-cert.pem and DIR/ca/issuercert.pem). Start it
# with SWTPM_STATE_FROM=DIR/state swtpm_start.
swtpm_make_ek_state() {
	ekd=$1
	shift
	mkdir -p "$ekd/ca" "$ekd/state" || return 1
	cat >"$ekd/localca.conf" <<-EOC
	statedir = $ekd/ca
	signingkey = $ekd/ca/signkey.pem
	issuercert = $ekd/ca/issuercert.pem
	certserial = $ekd/ca/certserial
	EOC
	printf -- '--platform-manufacturer tpm-agent-test\n--platform-version 2.1\n--platform-model swtpm\n' \
		>"$ekd/localca.options"
	cat >"$ekd/setup.conf" <<-EOC
	create_certs_tool = /usr/bin/swtpm_localca
	create_certs_tool_config = $ekd/localca.conf
	create_certs_tool_options = $ekd/localca.options
	active_pcr_banks = sha256
	EOC
	timeout 120 swtpm_setup --tpm2 --tpmstate "$ekd/state" --create-ek-cert "$@" \
		--config "$ekd/setup.conf" --logfile "$ekd/setup.log" >/dev/null 2>&1
}
