#!/usr/bin/env bash
# Provision a Raspberry Pi (Raspberry Pi OS Bookworm, 64-bit) as a keylocker, from a checkout
# of this repository copied to the Pi. Run as root: sudo deploy/install.sh
# Idempotent: running it again updates the code and keeps config and data.
set -euo pipefail

APP=/opt/keylocker
CONF=/etc/keylocker
SRC=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20 is needed: apt-get install -y nodejs (NodeSource 20.x)" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' \
  || { echo "Node.js >= 20.17 is needed, found $(node --version)" >&2; exit 1; }

echo "== system packages"
apt-get update -qq
apt-get install -y -qq chromium build-essential python3 >/dev/null

echo "== users and groups"
id keylocker >/dev/null 2>&1 || useradd --system --home-dir /var/lib/keylocker --shell /usr/sbin/nologin keylocker
for group in gpio i2c dialout; do getent group "$group" >/dev/null && usermod -aG "$group" keylocker; done

echo "== interfaces: I2C on, serial console off (the UART is for the lock board)"
if command -v raspi-config >/dev/null; then
  raspi-config nonint do_i2c 0
  raspi-config nonint do_serial_cons 1
  raspi-config nonint do_boot_behaviour B4   # desktop autologin, for the kiosk screens
  raspi-config nonint do_blanking 1          # never blank the screens
fi

echo "== application"
mkdir -p "$APP"
rsync -a --delete --exclude node_modules --exclude var --exclude .git "$SRC"/ "$APP"/
cd "$APP"
npm ci --no-audit --no-fund
npm run build
npm prune --omit=dev

echo "== configuration"
mkdir -p "$CONF"
if [ ! -f "$CONF/locker.json" ]; then
  cat > "$CONF/locker.json" <<'JSON'
{
  "unitId": "CHANGE-ME",
  "dataDir": "/var/lib/keylocker",
  "hardware": { "kind": "kerong" }
}
JSON
  echo "wrote $CONF/locker.json: set unitId, hardware and backOffice before starting"
fi
chmod 0640 "$CONF/locker.json"; chgrp keylocker "$CONF/locker.json"

echo "== service"
install -m 0644 "$APP/systemd/keylocker.service" /etc/systemd/system/keylocker.service
systemctl daemon-reload
systemctl enable keylocker.service
echo "start it with: systemctl start keylocker; logs: journalctl -u keylocker -f"

echo "== kiosk screens (for the desktop user that logs in automatically)"
KIOSK_USER=${KIOSK_USER:-$(getent passwd 1000 | cut -d: -f1)}
if [ -n "$KIOSK_USER" ]; then
  home=$(getent passwd "$KIOSK_USER" | cut -d: -f6)
  install -d -o "$KIOSK_USER" "$home/.config/labwc"
  install -m 0644 -o "$KIOSK_USER" "$APP/deploy/kiosk/autostart" "$home/.config/labwc/autostart"
  sed -i "s#/home/kiosk#$home#g" "$home/.config/labwc/autostart"
  [ -f "$home/.config/labwc/rc.xml" ] || install -m 0644 -o "$KIOSK_USER" "$APP/deploy/kiosk/rc.xml" "$home/.config/labwc/rc.xml"
  echo "edit $home/.config/labwc/rc.xml: output names (wlr-randr) and the touch device (libinput list-devices)"
fi
