#!/bin/sh
# Builds the Debian package from an already built tree (cpack -G DEB), checks
# its control data and contents, extracts it into a scratch root with
# dpkg-deb -x and runs the installed binary there: `herald version` and
# `herald check-config` on the installed configuration. Lintian, when
# installed, must report no errors.
# usage: package_test.sh BUILD_DIR VERSION      (exit 77: skipped, a tool is missing)
set -eu
build=$1
version=$2
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool not installed (scripts/install-deps.sh installs it)"
    exit 77
  fi
done
work=$(mktemp -d /tmp/herald-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! (cd "$build" && cpack -G DEB -B "$work/out") >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  fail "cpack -G DEB failed"
fi
deb="$work/out/herald_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || { ls -l "$work/out" >&2; fail "no $deb"; }
echo "built $(basename "$deb") ($(wc -c <"$deb") bytes)"

# Control data.
[ "$(dpkg-deb -f "$deb" Package)" = herald ] || fail "Package is not herald"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in adduser libc6 libssl3 libhiredis libyaml-cpp libicu72 libnghttp2-14 libsystemd0 libstdc++6; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib (dpkg-shlibdeps)"
done
[ "$(dpkg-deb -f "$deb" Recommends)" = redis-server ] || fail "Recommends is not redis-server"
dpkg-deb -e "$deb" "$work/control"
[ -x "$work/control/postinst" ] || fail "no executable postinst"
grep -q "adduser --system" "$work/control/postinst" || fail "postinst does not create the herald system user"
for f in /etc/herald/herald.yaml /etc/herald/tokens.yaml; do
  grep -qx "$f" "$work/control/conffiles" || fail "$f is not a conffile"
done

# Contents: paths and modes.
dpkg-deb -c "$deb" >"$work/contents"
expect() {  # mode path
  grep -q "^$1 root/root .* \./$2\$" "$work/contents" || { cat "$work/contents" >&2; fail "no $2 with mode $1"; }
}
expect -rwxr-xr-x usr/bin/herald
expect -rw-r--r-- lib/systemd/system/herald.service
expect -rw-r----- etc/herald/herald.yaml
expect -rw-r----- etc/herald/tokens.yaml
expect -rw-r--r-- usr/share/doc/herald/copyright
expect -rw-r--r-- usr/share/doc/herald/changelog.gz
if grep -E '\./usr/(local|etc)/|/examples/' "$work/contents"; then fail "files outside the Debian layout"; fi

# Installed into a scratch root: the binary runs and accepts the shipped configuration.
dpkg-deb -x "$deb" "$work/root"
grep -qx "ExecStart=/usr/bin/herald serve --config /etc/herald/herald.yaml" "$work/root/lib/systemd/system/herald.service" ||
  fail "the unit does not run /usr/bin/herald"
"$work/root/usr/bin/herald" version | tee "$work/version"
grep -q "^herald $version (commit " "$work/version" || fail "herald version does not say $version"
if ! "$work/root/usr/bin/herald" check-config --config "$work/root/etc/herald/herald.yaml" >"$work/check.out" 2>"$work/check.err"; then
  cat "$work/check.out" "$work/check.err" >&2
  fail "herald check-config rejects the installed configuration"
fi
cat "$work/check.err"
grep -q "catalogs: .*built in" "$work/check.err" || fail "the installed configuration does not use the built-in catalogs"

# Lintian: errors fail the test; warnings are shown.
if command -v lintian >/dev/null 2>&1; then
  lintian --tag-display-limit 0 "$deb" >"$work/lintian.out" 2>&1 || true
  cat "$work/lintian.out"
  if grep -q "^E: " "$work/lintian.out"; then fail "lintian reports errors"; fi
  echo "lintian: no errors"
else
  echo "lintian not installed: not run"
fi
echo "OK"
