#!/bin/sh
# gen-session-kat.sh: regenerates tests/unit/kat/session_kat.h, test_tpmsession's known
# answer from an independent implementation: tpm2-tss ESAPI (esys-session-kat.c) talks
# to a private swtpm through the pcap TCTI with its debug log on; gen-session-kat.py
# takes the vector from the capture and the log. Run from the repository root; needs
# swtpm, a C compiler and libtss2-dev (contrib/install-deps.sh). Not part of make check:
# the vector is committed, so the test does not depend on ESAPI's behaviour at run time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/swtpm.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/session-kat.XXXXXX")
trap 'swtpm_stop; rm -rf "$work"' EXIT
cc -Wall -Wextra -o "$work/esys-session-kat" "$here/esys-session-kat.c" -ltss2-esys -ltss2-tctildr
swtpm_start
TCTI_PCAP_FILE="$work/kat.pcap" TSS2_LOG=esys+debug \
	"$work/esys-session-kat" "pcap:$SWTPM_TCTI" >"$work/kat.out" 2>"$work/kat.log"
python3 "$here/gen-session-kat.py" "$work/kat.pcap" "$work/kat.log" "$work/kat.out" \
	>"$here/session_kat.h"
echo "wrote $here/session_kat.h"
