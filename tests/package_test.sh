#!/usr/bin/env bash
# The Debian package: cpack builds it from this build, and what it holds
# works when unpacked into a scratch root. CTest entry "package".
#   package_test.sh BUILD_DIR
# Checks: the control fields (Depends: the shared libraries, adduser; never
# chromium), the maintainer scripts, `parley --version` run from the
# unpacked root, the unit naming a program the package installs, the man
# pages rendering without a warning, the bash completion completing from the
# unpacked binary, the example configuration and docs.
set -euo pipefail
build=$(realpath "$1")

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in cpack dpkg-deb dpkg-shlibdeps file groff man; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed (Debian packages cmake, dpkg-dev, file, groff-base, man-db; ./setup.sh test installs them)"
done
[ -f "$build/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$SECONDS
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  fail "cpack failed:
$(tail -30 "$tmp/cpack.log")"
debs=("$tmp"/out/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single .deb: ${debs[*]}"
deb=${debs[0]}
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) in $((SECONDS - start)) s"

# --- control fields
[ "$(dpkg-deb -f "$deb" Package)" = parley ] || fail "package name is not parley"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libsodium libleveldb libprotobuf libgrpc++ adduser; do
  grep -q "\b$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
for field in Depends Recommends Suggests Pre-Depends; do
  ! dpkg-deb -f "$deb" "$field" | grep -qi chromium || fail "the package's $field names chromium"
done

# --- maintainer scripts
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
  [ -x "$tmp/control/$s" ] || fail "no executable $s in the package"
  sh -n "$tmp/control/$s" || fail "$s is not valid sh"
done
# Run the scripts with the commands that change the system stubbed out: each
# stub logs its arguments to $tmp/calls.log.
mkdir -p "$tmp/stub"
for cmd in adduser install systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls.log"\n' "$cmd" "$tmp" >"$tmp/stub/$cmd"
  chmod +x "$tmp/stub/$cmd"
done
# postinst configure on a machine without the user: creates it, then the folders.
printf '#!/bin/sh\nexit 2\n' >"$tmp/stub/getent" && chmod +x "$tmp/stub/getent"
PATH="$tmp/stub:$PATH" sh "$tmp/control/postinst" configure || fail "postinst configure failed"
grep -qx 'adduser --system --group --quiet --home /var/lib/parley --no-create-home --gecos Parley node parley' \
  "$tmp/calls.log" || fail "postinst does not create the parley system user: $(cat "$tmp/calls.log")"
[ -d /etc/parley ] || grep -qx 'install -d -o root -g parley -m 0750 /etc/parley' "$tmp/calls.log" ||
  fail "postinst does not make /etc/parley (root:parley 0750)"
grep -qx 'install -d -o parley -g parley -m 0750 /var/lib/parley' "$tmp/calls.log" || fail "postinst: /var/lib/parley"
grep -qx 'install -d -o parley -g parley -m 0750 /var/log/parley' "$tmp/calls.log" || fail "postinst: /var/log/parley"
# ... and with the user already there (an upgrade): no second adduser.
rm "$tmp/calls.log"
printf '#!/bin/sh\necho "parley:x:999:999::/var/lib/parley:/usr/sbin/nologin"\n' >"$tmp/stub/getent"
PATH="$tmp/stub:$PATH" sh "$tmp/control/postinst" configure 0.0.9 || fail "postinst configure (upgrade) failed"
! grep -q '^adduser' "$tmp/calls.log" || fail "postinst runs adduser when the user exists"
# postrm deletes data on purge only.
printf '#!/bin/sh\necho "rm $*" >>"%s/rm.log"\n' "$tmp" >"$tmp/stub/rm"
printf '#!/bin/sh\nexit 0\n' >"$tmp/stub/rmdir"
chmod +x "$tmp/stub/rm" "$tmp/stub/rmdir"
for action in remove upgrade; do
  PATH="$tmp/stub:$PATH" sh "$tmp/control/postrm" "$action" || fail "postrm $action failed"
  [ ! -e "$tmp/rm.log" ] || fail "postrm $action deletes files: $(cat "$tmp/rm.log")"
done
PATH="$tmp/stub:$PATH" sh "$tmp/control/postrm" purge || fail "postrm purge failed"
grep -q '/var/lib/parley' "$tmp/rm.log" || fail "postrm purge does not delete /var/lib/parley"
! grep -q '/etc/parley' "$tmp/rm.log" || fail "postrm purge deletes /etc/parley (the keys)"

# --- the files, unpacked into a scratch root
root=$tmp/root
dpkg-deb -x "$deb" "$root"
bin=$(find "$root" -path '*/bin/parley' -type f)
[ -n "$bin" ] && [ -x "$bin" ] || fail "no bin/parley in the package"
version=$("$bin" --version) || fail "parley --version from the package failed"
grep -Eqx 'parley [0-9]+\.[0-9]+\.[0-9]+ \(protocol v[0-9]+, commit ([0-9a-f]+|unknown)\)' <<<"$version" ||
  fail "unexpected --version: $version"
echo "unpacked: $version"
usr=${bin%/bin/parley}

unit=$usr/lib/systemd/system/parley@.service
[ -f "$unit" ] || fail "no lib/systemd/system/parley@.service"
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[ "$root$exec_path" = "$bin" ] || fail "the unit runs $exec_path, the package installs ${bin#$root}"

for page in man1/parley.1 man5/parley.conf.5; do
  f=$usr/share/man/$page
  [ -f "$f" ] || fail "no share/man/$page"
  warnings=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
  [ -z "$warnings" ] || fail "groff warns on $page: $warnings"
  warnings=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >"$tmp/rendered")
  [ -z "$warnings" ] || fail "man warns on $page: $warnings"
  grep -q '^NAME' "$tmp/rendered" || fail "$page renders without a NAME section"
done

completion=$usr/share/bash-completion/completions/parley
[ -f "$completion" ] || fail "no share/bash-completion/completions/parley"
complete_words() {  # complete_words WORD...: what the completion offers after WORD... (the last may be "")
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _parley; echo "${COMPREPLY[*]}"' \
    _ "$completion" "$bin" "$@"
}
[ "$(complete_words key "")" = "show passwd" ] || fail "completion of 'parley key ': $(complete_words key "")"
[ "$(complete_words status --ch)" = "--check" ] || fail "completion of 'parley status --ch': $(complete_words status --ch)"
[ "$(complete_words node --log-level "")" = "debug info warn error" ] || fail "completion of --log-level"
grep -qw manifest <<<"$(complete_words "")" || fail "completion of 'parley ' lacks manifest"

for doc in example.conf OPERATIONS.md PROTOCOL.md audit.schema.json; do
  [ -f "$usr/share/doc/parley/$doc" ] || fail "no share/doc/parley/$doc"
done
echo "package: passed ($((SECONDS - start)) s)"
