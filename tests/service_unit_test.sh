#!/usr/bin/env bash
# The systemd unit parley@.service (node/dist): `systemd-analyze verify`
# accepts it with no warning, its hardening is all there, and its exposure
# (`systemd-analyze security`) stays low. CTest entry "service_unit".
#   service_unit_test.sh UNIT BINARY SOURCE_DIR
# UNIT is the configured unit of the build (the one the package installs);
# its ExecStart is pointed at the built BINARY in a temporary copy, since
# verify checks that the program exists. A missing systemd-analyze fails the
# test: setup.sh installs it (package systemd) for the tests.
set -euo pipefail
unit=$1 bin=$(realpath "$2") src=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (Debian package systemd; ./setup.sh test installs it)"
command -v man >/dev/null || fail "man is not installed (Debian package man-db)"
[ -f "$unit" ] || fail "no unit at $unit"
[ -x "$bin" ] || fail "no parley binary at $bin"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The unit runs `parley node --config /etc/parley/%i.conf` from the install.
grep -qx 'ExecStart=/[^ ]*/parley node --config /etc/parley/%i.conf' "$unit" ||
  fail "ExecStart is not 'PREFIX/bin/parley node --config /etc/parley/%i.conf': $(grep '^ExecStart=' "$unit")"

# Every setting the hardening needs, exactly so.
for line in \
  'User=parley' 'Group=parley' \
  'ExecReload=/bin/kill -HUP $MAINPID' \
  'StateDirectory=parley/%i' 'RuntimeDirectory=parley' 'LogsDirectory=parley' 'UMask=0077' \
  'NoNewPrivileges=yes' 'CapabilityBoundingSet=' 'ProtectSystem=strict' 'ProtectHome=yes' \
  'PrivateTmp=yes' 'PrivateDevices=yes' 'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' \
  'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
  'SystemCallFilter=@system-service' 'SystemCallArchitectures=native' 'LockPersonality=yes' \
  'MemoryDenyWriteExecute=yes' 'RestrictNamespaces=yes'; do
  grep -qxF -- "$line" "$unit" || fail "the unit lacks '$line'"
done

# verify resolves Documentation=man:… through man(1): give it our pages.
mkdir -p "$tmp/man/man1" "$tmp/man/man5" "$tmp/units"
cp "$src/docs/man/parley.1" "$tmp/man/man1/"
cp "$src/docs/man/parley.conf.5" "$tmp/man/man5/"
sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$unit" >"$tmp/units/parley@.service"
cp "$tmp/units/parley@.service" "$tmp/units/parley@ua.service"

verify() {  # verify FILE: verify's whole output (empty when clean); its status in $rc
  rc=0
  out=$(cd "$tmp" && MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$1" 2>&1) || rc=$?
}

for u in "parley@.service" "parley@ua.service"; do
  verify "$tmp/units/$u"
  [ "$rc" -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify $u (exit $rc):
$out"
  echo "systemd-analyze verify $u: clean"
done

# The check can fail: a misspelt setting and a missing program are reported.
sed 's/^ProtectSystem=strict/ProtectSystm=strict/' "$tmp/units/parley@ua.service" >"$tmp/units/parley@bad.service"
verify "$tmp/units/parley@bad.service"
grep -q 'ProtectSystm' <<<"$out" || fail "verify did not report a misspelt setting: $out"
sed "s|^ExecStart=[^ ]*|ExecStart=$tmp/no-such-parley|" "$tmp/units/parley@ua.service" >"$tmp/units/parley@gone.service"
verify "$tmp/units/parley@gone.service"
[ "$rc" -ne 0 ] || fail "verify accepted a unit whose program does not exist"
rm -f "$tmp/units/parley@bad.service" "$tmp/units/parley@gone.service"

# Exposure: systemd's own score of the sandbox, 0 (locked down) to 10.
# The unit scores 1.6; more than 2.0 means a protection was lost.
sec=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=20 --no-pager "$tmp/units/parley@ua.service" 2>&1) ||
  fail "systemd-analyze security: exposure above 2.0 (or it failed):
$(tail -5 <<<"$sec")"
echo "$(grep -o 'Overall exposure level.*' <<<"$sec")"
echo "service_unit: passed"
