#!/bin/sh
# install-deps.sh: installs the Debian 12 packages tpm-agent needs to build, test and
# run its demo, when some are missing. Quiet when nothing is missing.
# As root it runs apt-get itself; otherwise it uses `sudo -n` when that works, or
# prints the command to run and exits 1.
set -u

PKGS="
gcc make pkg-config
libtss2-dev libssl-dev libsodium-dev libassuan-dev libgpg-error-dev libcmocka-dev
swtpm swtpm-tools tpm2-tools tpm2-openssl
openssh-client openssh-server git gnupg scdaemon procps socat coreutils tmux pinentry-curses
systemd mandoc
clang libclang-rt-14-dev valgrind
python3 util-linux openssl
dpkg-dev zlib1g-dev softhsm2 sudo gdb
tpm2-abrmd libtss2-tcti-tabrmd0 dbus-daemon
"

missing=
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: missing Debian packages:$missing"
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"

if [ "$(id -u)" -eq 0 ]; then
	run() { sh -c "$1"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	run() { sudo -n sh -c "$1"; }
else
	echo "install-deps: not root; run as root:" >&2
	echo "  $cmd" >&2
	exit 1
fi

run "$cmd" </dev/null || { echo "install-deps: apt-get failed" >&2; exit 1; }

still=
for p in $missing; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" in
	*" installed") ;;
	*) still="$still $p" ;;
	esac
done
if [ -n "$still" ]; then
	echo "install-deps: still missing after apt-get:$still" >&2
	exit 1
fi
echo "install-deps: installed:$missing"
