# fake_pinentry.sh: a scripted pinentry the agent runs, reprogrammed between dialogs
# (sourced by bash integration tests after lib.sh). Defines:
#   $T/pinentry  the program to give the agent (--pinentry-program); it reads its
#                script (pe.conf) anew for every dialog, then runs tests/pinentry/fake-pinentry
#   pe [VAR=VALUE...]   how the next dialogs answer (FAKE_PINENTRY_* without the prefix);
#                every line the pinentry receives goes to $PE_LOG
#   pe_pins PIN...      the Nth GETPIN answers the Nth PIN, then "cancelled"; the
#                VAR=VALUE settings in the array PE_EXTRA apply too
#   getpins             how many GETPINs $PE_LOG holds;  pe_reset empties $PE_LOG

FAKE="$IT_REPO/tests/pinentry/fake-pinentry"
PE_CONF="$T/pe.conf"
PE_LOG="$T/pe.log"
PINS="$T/pins"
printf '#!/bin/sh\n. "%s"\nexec "%s" "$@"\n' "$PE_CONF" "$FAKE" >"$T/pinentry"
chmod +x "$T/pinentry"

pe() {
	{
		echo "export FAKE_PINENTRY_LOG='$PE_LOG'"
		for kv in "$@"; do printf "export FAKE_PINENTRY_%s='%s'\n" "${kv%%=*}" "${kv#*=}"; done
	} >"$PE_CONF"
}
pe_pins() {
	printf '%s\n' "$@" >"$PINS"
	rm -f "$PINS.count"
	pe PINS="$PINS" "${PE_EXTRA[@]}"
}
PE_EXTRA=()
getpins() { grep -c '^GETPIN' "$PE_LOG" 2>/dev/null || true; }
pe_reset() { : >"$PE_LOG"; }
