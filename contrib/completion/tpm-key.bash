# bash completion for tpm-key (installed as <prefix>/share/bash-completion/completions/tpm-key).
# Subcommands and each subcommand's options are read from `tpm-key --help` and
# `tpm-key CMD -h`, so new ones complete without editing this file; key names come
# from `tpm-key list` (the running agent).

_tpm_key_commands() {
	"${1:-tpm-key}" --help 2>/dev/null | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }'
}

_tpm_key_options() {
	"$1" "$2" -h 2>&1 </dev/null |
		grep -oE '(^|[][ ,|(])(--[a-z][a-z0-9-]*|-[A-Za-z])' | sed -E 's/^[][ ,|(]//' | sort -u
}

_tpm_key_names() {
	"$1" list 2>/dev/null </dev/null | awk 'NR > 1 && $1 != "" { print $1 }'
}

_tpm_key() {
	local cur prev cmd i prog=${COMP_WORDS[0]}
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(_tpm_key_commands "$prog") --help --version" -- "$cur"))
		return 0
	fi
	cmd=${COMP_WORDS[1]}

	# Option arguments.
	case "$cmd:$prev" in
	gen:-t) COMPREPLY=($(compgen -W "ecdsa rsa" -- "$cur")); return 0 ;;
	gen:-b) COMPREPLY=($(compgen -W "256 384 521 2048 3072" -- "$cur")); return 0 ;;
	gen:--pcr-bank) COMPREPLY=($(compgen -W "sha256 sha1 sha384 sha512" -- "$cur")); return 0 ;;
	gen:--signer) COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog")" -- "$cur")); return 0 ;;
	gen:-n|gen:-C|gen:--pcr|*:-t|*:--nonce|*:--srk-handle|seal:--pcr) return 0 ;;
	attest:-o|*:--key|*:--ek-ca) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
	esac

	case "$cur" in
	-*)
		COMPREPLY=($(compgen -W "$(_tpm_key_options "$prog" "$cmd")" -- "$cur"))
		return 0
		;;
	esac

	case "$cmd" in
	cert)
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W "add list rm show" -- "$cur"))
		elif [ "$COMP_CWORD" -eq 3 ]; then
			COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog")" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	pub|rm|load|passwd|forget|pcr-seal|decrypt|encrypt|unseal|attest|seal)
		COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog")" -- "$cur"))
		[ "$cmd" = encrypt ] && COMPREPLY+=($(compgen -f -X '!*.pub' -- "$cur"))
		;;
	verify-attestation)
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
	return 0
}
complete -F _tpm_key tpm-key
