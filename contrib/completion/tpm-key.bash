# bash completion for tpm-key (installed as <prefix>/share/bash-completion/completions/tpm-key).
# Everything comes from tpm-key's own command table (`tpm-key --complete-data`: one
# line per command with its argument kind, options and option values), the same table
# its -h and help print, so the completion cannot drift from the program. Key names and
# sealed names come from the running agent (`tpm-key --complete-data keys|sealed`).

_tpm_key_names() {   # _tpm_key_names PROG keys|sealed
	"$1" --complete-data "$2" 2>/dev/null </dev/null
}

_tpm_key() {
	local cur prev prog=${COMP_WORDS[0]} cmd line head args opts optargs spec words
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	if [ "$COMP_CWORD" -eq 1 ]; then
		words=$("$prog" --complete-data 2>/dev/null | awk -F'\t' '/^cmd / { print substr($1, 5) }')
		COMPREPLY=($(compgen -W "$words help --help --version" -- "$cur"))
		return 0
	fi
	cmd=${COMP_WORDS[1]}
	if [ "$cmd" = help ]; then
		[ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$("$prog" --complete-data 2>/dev/null |
			awk -F'\t' '/^cmd / { print substr($1, 5) }')" -- "$cur"))
		return 0
	fi
	line=$("$prog" --complete-data 2>/dev/null | awk -F'\t' -v c="cmd $cmd" '$1 == c')
	[ -n "$line" ] || return 0
	IFS=$'\t' read -r head args opts optargs <<<"$line"

	# The value of an option that takes one.
	local IFS_save=$IFS
	IFS=';'
	for spec in $optargs; do
		if [ "${spec%%=*}" = "$prev" ]; then
			IFS=$IFS_save
			case "${spec#*=}" in
			@key) COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog" keys)" -- "$cur")) ;;
			@file) COMPREPLY=($(compgen -f -- "$cur")) ;;
			*) COMPREPLY=($(compgen -W "${spec#*=}" -- "$cur")) ;;
			esac
			return 0
		fi
	done
	IFS=$IFS_save

	case "$cur" in
	-*) COMPREPLY=($(compgen -W "$opts" -- "$cur")); return 0 ;;
	esac

	case "$args" in
	key|keys) COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog" keys)" -- "$cur")) ;;
	sealed) COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog" sealed)" -- "$cur")) ;;
	key-or-pub)
		COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog" keys)" -- "$cur"))
		COMPREPLY+=($(compgen -f -X '!*.pub' -- "$cur"))
		;;
	file) COMPREPLY=($(compgen -f -- "$cur")) ;;
	cert)
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W "add list rm show" -- "$cur"))
		elif [ "$COMP_CWORD" -eq 3 ] && [ "${COMP_WORDS[2]}" != list ]; then
			COMPREPLY=($(compgen -W "$(_tpm_key_names "$prog" keys)" -- "$cur"))
		elif [ "$COMP_CWORD" -eq 4 ] && [ "${COMP_WORDS[2]}" = add ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	esac
	return 0
}
complete -F _tpm_key tpm-key
