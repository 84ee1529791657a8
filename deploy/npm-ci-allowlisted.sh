#!/usr/bin/env bash
# npm ci with no dependency's install scripts, then the install scripts of exactly the packages
# package.json's "allowScripts" approves (the native modules: sqlite3, the serialport bindings,
# i2c-bus, epoll, unix-dgram; esbuild for the dev tools), so no other package runs code at
# install. Works with any npm (Debian's too), not only one that knows allowScripts.
# Usage: deploy/npm-ci-allowlisted.sh [DIR] [extra npm ci flags...]
set -euo pipefail
dir=${1:-.}
shift || true
cd "$dir"
npm ci --ignore-scripts --no-audit --no-fund "$@"
mapfile -t allowed < <(node -e '
  const allow = require("./package.json").allowScripts ?? {};
  const fs = require("node:fs");
  for (const [name, ok] of Object.entries(allow)) if (ok === true && fs.existsSync(`node_modules/${name}/package.json`)) console.log(name);
')
if [ "${#allowed[@]}" -gt 0 ]; then
  echo "npm-ci-allowlisted: install scripts of ${allowed[*]}"
  npm rebuild --foreground-scripts=false "${allowed[@]}"
fi
