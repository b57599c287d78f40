#!/bin/sh
# demo.sh (`make demo`): tpm-agent end to end on a simulated TPM, in a throwaway data
# dir: start the agent with its own swtpm, make a P-256 key in the TPM, list it with the
# real ssh-add, sign a file with ssh-keygen -Y sign through the agent, verify it, stop.
# Touches nothing of the user's: no ~/.ssh, no running agent, no /dev/tpm*.
set -u
cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
AGENT="$REPO/bin/tpm-agent"
KEY="$REPO/bin/tpm-key"

for b in "$AGENT" "$KEY"; do
	[ -x "$b" ] || { echo "demo: $b is not built (run make)" >&2; exit 1; }
done

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-demo.XXXXXX") || exit 1
chmod 700 "$DEMO"
export TPM_AGENT_HOME="$DEMO/data"
unset SSH_AUTH_SOCK SSH_AGENT_PID
AGENT_PID=

cleanup() {
	if [ -n "$AGENT_PID" ]; then
		SSH_AGENT_PID=$AGENT_PID "$AGENT" -k >/dev/null 2>&1 </dev/null
		n=0
		while alive "$AGENT_PID" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	fi
	rm -rf "$DEMO"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# alive PID: running (a zombie left for init to reap counts as gone).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

heading() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }
cd "$DEMO" || exit 1

heading "1. Start tpm-agent with a simulated TPM (swtpm; state under $TPM_AGENT_HOME)"
printf '$ eval "$(tpm-agent --simulator -a %s -s)"\n' "$DEMO/agent.sock"
"$AGENT" --simulator -a "$DEMO/agent.sock" -s </dev/null >"$DEMO/agent.env" 2>"$DEMO/agent.err" ||
	die "tpm-agent did not start: $(cat "$DEMO/agent.err")"
eval "$(cat "$DEMO/agent.env")"
export SSH_AUTH_SOCK SSH_AGENT_PID
AGENT_PID=${SSH_AGENT_PID:-}
[ -n "$AGENT_PID" ] || die "tpm-agent printed no SSH_AGENT_PID"
echo "SSH_AUTH_SOCK=$SSH_AUTH_SOCK SSH_AGENT_PID=$SSH_AGENT_PID"

heading "2. Make an ECDSA P-256 key inside the TPM"
printf '$ tpm-key gen --no-pin -t ecdsa -b 256 -C demo@tpm-agent\n'
"$KEY" gen --no-pin -t ecdsa -b 256 -C demo@tpm-agent </dev/null >"$DEMO/gen.out" || die "tpm-key gen"
cat "$DEMO/gen.out"
grep '^ecdsa-sha2-nistp256 ' "$DEMO/gen.out" | head -1 >"$DEMO/demo.pub"
[ -s "$DEMO/demo.pub" ] || die "tpm-key gen printed no public key"
echo "(the private part stays in the TPM; on disk: $(ls "$TPM_AGENT_HOME/keys" | tr '\n' ' '))"

heading "3. The key as OpenSSH's own ssh-add sees it"
show ssh-add -l </dev/null || die "ssh-add -l"
show "$KEY" list </dev/null || die "tpm-key list"

heading "4. Sign a file with ssh-keygen -Y sign (the agent signs in the TPM)"
echo "hello from tpm-agent" >"$DEMO/message.txt"
show ssh-keygen -Y sign -f demo.pub -n file message.txt </dev/null || die "ssh-keygen -Y sign"
cat message.txt.sig

heading "5. Verify the signature"
printf 'demo@tpm-agent %s\n' "$(cat demo.pub)" >allowed_signers
show ssh-keygen -Y verify -f allowed_signers -I demo@tpm-agent -n file -s message.txt.sig \
	<message.txt || die "ssh-keygen -Y verify"
echo "tampered" >>message.txt
printf '$ (tampered message) ssh-keygen -Y verify ...\n'
if ssh-keygen -Y verify -f allowed_signers -I demo@tpm-agent -n file -s message.txt.sig \
	<message.txt >/dev/null 2>&1; then
	die "a tampered message verified"
fi
echo "rejected, as it must be"

heading "6. Stop the agent (and its simulator)"
printf '$ eval "$(tpm-agent -k)"\n'
"$AGENT" -k </dev/null || die "tpm-agent -k"
n=0
while alive "$AGENT_PID" && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
alive "$AGENT_PID" && die "agent $AGENT_PID still running after -k"
AGENT_PID=
echo
echo "demo: OK"
