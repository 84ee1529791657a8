#!/usr/bin/env bash
# Install a keylocker on Raspberry Pi OS (64-bit), from a release tarball (npm run release) or
# by building one from this checkout. Run as root: sudo deploy/install.sh --release FILE
#
#   --release FILE       install this release (keylocker-<version>-linux-<cpu>.tar.gz)
#   --from-checkout      build a release from the checkout this script is in (needs npm and a
#                        compiler; the default when no --release is given and package-lock.json is here)
#   --kiosk-user NAME    the desktop user whose screens show the kiosk (default: uid 1000's user)
#   --port N             the screens' port written into a new config and the browser policy (default 8080)
#   --root DIR           install under DIR instead of / (an image, or a test): files only; no users,
#                        packages, systemctl or raspi-config, which are listed as skipped
#   --dry-run            print what would be done, change nothing
#
# Idempotent: run it again with the same release and nothing changes; the config, the data and
# the kiosk's rc.xml are kept once written. Code under /opt/keylocker is root's and read-only
# to the service and the kiosk user.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=/
RELEASE=
FROM_CHECKOUT=0
DRY_RUN=0
KIOSK_USER=${KIOSK_USER:-}
PORT=8080

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --release) RELEASE=${2:?--release needs a file}; shift 2 ;;
    --from-checkout) FROM_CHECKOUT=1; shift ;;
    --kiosk-user) KIOSK_USER=${2:?--kiosk-user needs a name}; shift 2 ;;
    --port) PORT=${2:?--port needs a number}; shift 2 ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
case "$PORT" in ''|*[!0-9]*) echo "install.sh: --port must be a number, not $PORT" >&2; exit 2 ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || { echo "install.sh: --port must be 1-65535" >&2; exit 2; }
ROOT=$(cd "$ROOT" 2>/dev/null && pwd || { echo "install.sh: --root $ROOT: no such directory" >&2; exit 2; })
SYSTEM=0; [ "$ROOT" = / ] && SYSTEM=1   # a real system: users, packages, systemd
P=${ROOT%/}                              # prefix for every path

# Files are root's; a non-root run under --root (an image built by a user) keeps the user's.
OWN=(); [ "$(id -u)" -eq 0 ] && OWN=(-o root -g root)
say() { printf '== %s\n' "$*"; }
# run CMD...: does it, or prints it under --dry-run.
run() { if [ "$DRY_RUN" = 1 ]; then printf '   would run: %s\n' "$*"; else "$@"; fi; }
# system CMD...: only on a real system (not under --root).
system() { if [ "$SYSTEM" = 1 ]; then run "$@"; else printf '   skipped under --root: %s\n' "$*"; fi; }

if [ "$SYSTEM" = 1 ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then echo "install.sh: run as root (sudo $0 ...)" >&2; exit 1; fi
NODE=$(command -v node || true)
[ -n "$NODE" ] || { echo "install.sh: Node.js 20.17 or newer is needed: apt-get install -y nodejs" >&2; exit 1; }
"$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' \
  || { echo "install.sh: Node.js >= 20.17 is needed, found $("$NODE" --version)" >&2; exit 1; }
if [ -z "$RELEASE" ] && [ "$FROM_CHECKOUT" = 0 ]; then
  [ -f "$SRC/package-lock.json" ] && FROM_CHECKOUT=1 || { echo "install.sh: give --release FILE (or run from a checkout)" >&2; exit 2; }
fi
[ -z "$RELEASE" ] || [ -f "$RELEASE" ] || { echo "install.sh: $RELEASE: no such file" >&2; exit 2; }
[ -z "$RELEASE" ] || RELEASE=$(cd "$(dirname "$RELEASE")" && pwd)/$(basename "$RELEASE")

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

say "system packages"
system apt-get install -y -qq chromium

say "users and groups"
system groupadd --force --system keylocker-admin
if [ "$SYSTEM" = 1 ] && ! id keylocker >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/keylocker --no-create-home --shell /usr/sbin/nologin keylocker
fi
for group in gpio i2c dialout keylocker-admin; do
  if [ "$SYSTEM" = 1 ] && getent group "$group" >/dev/null; then run usermod -aG "$group" keylocker; fi
done
if [ -z "$KIOSK_USER" ]; then KIOSK_USER=$(getent passwd 1000 | cut -d: -f1 || true); fi
KIOSK_USER=${KIOSK_USER:-kiosk}
[ "$KIOSK_USER" != keylocker ] && [ "$KIOSK_USER" != root ] || { echo "install.sh: the kiosk user must be a desktop user, not $KIOSK_USER" >&2; exit 2; }

say "interfaces: I2C on, serial console off (the UART is the lock board's), desktop autologin, no blanking"
if [ "$SYSTEM" = 1 ] && command -v raspi-config >/dev/null; then
  run raspi-config nonint do_i2c 0
  run raspi-config nonint do_serial_cons 1
  run raspi-config nonint do_boot_behaviour B4
  run raspi-config nonint do_blanking 1
else
  echo "   skipped: raspi-config (not a Raspberry Pi OS system, or --root)"
fi

if [ "$FROM_CHECKOUT" = 1 ]; then
  say "release: building one from the checkout in $SRC"
  # Dependency install scripts run only for the allowlisted native modules, and not as root
  # when a sudo user is there to build as.
  builder=()
  if [ "$SYSTEM" = 1 ] && [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then builder=(runuser -u "$SUDO_USER" --); fi
  run "${builder[@]}" "$SRC/deploy/npm-ci-allowlisted.sh" "$SRC"
  run "${builder[@]}" bash -c "cd '$SRC' && npm run --silent release -- --out '$WORK'"
  built=("$WORK"/keylocker-*.tar.gz)
  RELEASE=${built[0]}
  [ -f "$RELEASE" ] || [ "$DRY_RUN" = 1 ] || { echo "install.sh: the build made no release" >&2; exit 1; }
fi

say "release: check and unpack into $P/opt/keylocker/releases"
run install -d -m 0755 "${OWN[@]}" "$P/opt" "$P/opt/keylocker"
if [ "$DRY_RUN" = 1 ]; then
  echo "   would run: lockerctl --root $ROOT install ${RELEASE:-<the built release>}"
else
  # The release's own lockerctl checks every file against the manifest and this machine
  # before anything is put in place.
  tar -xzf "$RELEASE" -C "$WORK" --wildcards '*/dist/*' '*/node_modules/*' '*/package.json'
  unpacked=("$WORK"/keylocker-*/dist/kiosk/cli/lockerctl.js)
  LOCKERCTL=${unpacked[0]}
  [ -f "$LOCKERCTL" ] || { echo "install.sh: $RELEASE has no lockerctl: not a keylocker release" >&2; exit 1; }
  current_before=$(readlink "$P/opt/keylocker/current" 2>/dev/null || true)
  result=$("$NODE" "$LOCKERCTL" --root "$ROOT" --service-manager none install "$RELEASE" --json) \
    || { printf '%s\n' "$result" >&2; echo "install.sh: lockerctl refused the release (see above): nothing was installed" >&2; exit 1; }
  version=$(printf '%s' "$result" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')
  echo "   release $version: every file checked against its manifest"
  if [ -n "$current_before" ] && [ "$(basename "$current_before")" != "$version" ]; then
    if [ "$SYSTEM" = 1 ]; then
      say "this locker runs release $(basename "$current_before"): updating it to $version"
      "$NODE" "$LOCKERCTL" update "$RELEASE" || { echo "install.sh: the update did not go through (see above)" >&2; exit 1; }
    else
      echo "   installed beside release $(basename "$current_before"), which stays current (switch with lockerctl update)"
    fi
  fi
fi
[ "$(id -u)" -ne 0 ] || run chown -R root:root "$P/opt/keylocker"
run chmod -R go-w "$P/opt/keylocker"

say "lockerctl"
run install -d -m 0755 "$P/usr/local/bin"
if [ "$DRY_RUN" = 0 ]; then
  printf '#!/bin/sh\n# lockerctl of the current release (installed by deploy/install.sh)\nexec /usr/bin/node /opt/keylocker/current/dist/kiosk/cli/lockerctl.js "$@"\n' > "$WORK/lockerctl"
fi
run install -m 0755 "${OWN[@]}" "$WORK/lockerctl" "$P/usr/local/bin/lockerctl"

say "configuration"
run install -d -m 0755 "${OWN[@]}" "$P/etc/keylocker"
if [ -f "$P/etc/keylocker/locker.json" ]; then
  echo "   kept $P/etc/keylocker/locker.json"
else
  if [ "$DRY_RUN" = 0 ]; then
    cat > "$WORK/locker.json" <<JSON
{
  "unitId": "CHANGE-ME",
  "dataDir": "/var/lib/keylocker",
  "server": { "host": "127.0.0.1", "port": $PORT },
  "hardware": { "kind": "kerong" }
}
JSON
  fi
  run install -m 0640 "${OWN[@]}" "$WORK/locker.json" "$P/etc/keylocker/locker.json"
  echo "   wrote $P/etc/keylocker/locker.json: set unitId, hardware and backOffice (lockerctl provision, or by hand)"
fi
system chgrp keylocker "$P/etc/keylocker/locker.json"

say "service"
CURRENT_DIR="$P/opt/keylocker/current"
run install -d -m 0755 "$P/etc/systemd/system"
run install -m 0644 "${OWN[@]}" "$CURRENT_DIR/systemd/keylocker.service" "$P/etc/systemd/system/keylocker.service"
system systemctl daemon-reload
system systemctl enable keylocker.service

say "kiosk: Chromium policy, two windows for $KIOSK_USER"
run install -d -m 0755 "$P/etc/chromium" "$P/etc/chromium/policies" "$P/etc/chromium/policies/managed"
if [ "$DRY_RUN" = 0 ]; then
  "$NODE" "$CURRENT_DIR/deploy/kiosk/chromium-policy.mjs" "$PORT" > "$WORK/keylocker.json"
fi
run install -m 0644 "${OWN[@]}" "$WORK/keylocker.json" "$P/etc/chromium/policies/managed/keylocker.json"
home=$(getent passwd "$KIOSK_USER" | cut -d: -f6 || true)
home=${home:-/home/$KIOSK_USER}
# The kiosk's files are its user's on a system; root's (or the caller's) under --root.
KOWN=("${OWN[@]}")
if [ "$SYSTEM" = 1 ] && id "$KIOSK_USER" >/dev/null 2>&1; then KOWN=(-o "$KIOSK_USER"); fi
run install -d -m 0755 "${KOWN[@]}" "$P$home" "$P$home/.config" "$P$home/.config/labwc"
if [ "$DRY_RUN" = 0 ]; then
  sed "s#http://127.0.0.1:8080/#http://127.0.0.1:$PORT/#g" "$CURRENT_DIR/deploy/kiosk/autostart" > "$WORK/autostart"
fi
run install -m 0644 "${KOWN[@]}" "$WORK/autostart" "$P$home/.config/labwc/autostart"
if [ -f "$P$home/.config/labwc/rc.xml" ]; then
  echo "   kept $P$home/.config/labwc/rc.xml"
else
  run install -m 0644 "${KOWN[@]}" "$CURRENT_DIR/deploy/kiosk/rc.xml" "$P$home/.config/labwc/rc.xml"
fi

version=$(basename "$(readlink "$P/opt/keylocker/current" 2>/dev/null || echo none)")
cat <<NEXT

keylocker $version is installed${ROOT:+ under $ROOT}. Next:
  1. sudo usermod -aG keylocker-admin \$USER   (then log in again): lockerctl without sudo for status
  2. set unitId, hardware and backOffice in /etc/keylocker/locker.json (or lockerctl provision)
  3. sudo systemctl start keylocker; journalctl -u keylocker -f   (curl -s http://127.0.0.1:$PORT/health)
  4. register the unit's public key with the back office (printed in the log at first start)
  5. edit $home/.config/labwc/rc.xml: output names (wlr-randr) and the touch device (libinput list-devices); reboot
  6. harden SSH (keys only) and the firewall: docs/security.md, "Install and hardening"
  Updates: sudo lockerctl update keylocker-<version>-linux-<cpu>.tar.gz; back: sudo lockerctl rollback
NEXT
