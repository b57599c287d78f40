#!/bin/sh
# openssh-build.sh: fetches the Debian source of the installed OpenSSH (apt-get source
# with a private sources list in a temp dir: the machine's apt configuration is not
# touched) and builds it, with its regress binaries (sk-dummy), in DIR (default
# build/openssh). Cached: does nothing when DIR/.built names the same version.
# Prints the source tree's path on its last line.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${1:-$repo/build/openssh}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

version=$(dpkg-query -W -f='${Version}' openssh-client)
upstream=${version#*:}
upstream=${upstream%-*}
src="$dir/openssh-$upstream"

if [ -f "$dir/.built" ] && [ "$(cat "$dir/.built")" = "$version" ] && [ -x "$src/ssh" ]; then
	echo "openssh: $version already built in $src" >&2
	echo "$src"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-aptsrc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/parts" "$tmp/archives/partial"

# The machine's own sources, as deb-src, in a private list.
: >"$tmp/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	sed 's/^Types:.*/Types: deb-src/' "$f" >"$tmp/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" >>"$tmp/sources.list"
done
apt_opts="-o Dir::Etc::sourcelist=$tmp/sources.list -o Dir::Etc::sourceparts=$tmp/parts
  -o Dir::State::Lists=$tmp/lists -o Dir::Cache::archives=$tmp/archives
  -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
echo "openssh: fetching the source of openssh $version" >&2
# shellcheck disable=SC2086
apt-get -q $apt_opts update >&2
rm -rf "$src" "$dir"/openssh_*
# shellcheck disable=SC2086
(cd "$dir" && apt-get -q $apt_opts source --download-only "openssh=$version" >&2)
(cd "$dir" && dpkg-source -x --no-check "openssh_${version#*:}.dsc" "$src" >&2)

echo "openssh: building in $src" >&2
cd "$src"
# Debian's patches touch configure.ac only for optional features (GSSAPI key exchange,
# tcp-wrappers, systemd readiness) that this build leaves off: the shipped configure
# serves, so mark it current instead of needing autoconf.
touch configure config.h.in
# Debian's configure script is shipped; build the portable way without PAM/SELinux
# extras: the regress suite runs the binaries from the tree.
./configure --with-privsep-path="$dir/empty" --without-pam --without-selinux \
	--without-kerberos5 --without-libedit --with-ssl-engine=no >"$dir/configure.log" 2>&1 ||
	{ tail -30 "$dir/configure.log" >&2; exit 1; }
jobs=${OPENSSH_JOBS:-$(nproc)}
make -j"$jobs" >"$dir/make.log" 2>&1 || { tail -40 "$dir/make.log" >&2; exit 1; }
make -j"$jobs" regress-binaries >>"$dir/make.log" 2>&1 || { tail -40 "$dir/make.log" >&2; exit 1; }
mkdir -p "$dir/empty"
chmod 755 "$dir/empty"
echo "$version" >"$dir/.built"
echo "$src"
