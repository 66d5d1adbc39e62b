#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing:
# pango + fonts for WeasyPrint (always), Chromium for the browser tests (--browser).
set -euo pipefail

# The lists are read whole before they are searched: `ldconfig -p | grep -q`
# under pipefail fails whenever grep stops reading early (ldconfig then dies
# of SIGPIPE), which made the check fail at random and run apt-get for
# libraries already installed.
libraries=$(ldconfig -p 2>/dev/null || true)
fonts=$(fc-list 2>/dev/null || true)

need=()
if ! grep -q 'libpangoft2-1.0.so.0' <<<"$libraries"; then
  need+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
fi
if ! grep -qi 'DejaVu Sans' <<<"$fonts"; then
  need+=(fonts-dejavu-core fontconfig)
fi
if [[ "${1:-}" == "--browser" ]] && [[ ! -x /usr/bin/chromium ]]; then
  need+=(chromium)
fi
[[ ${#need[@]} -eq 0 ]] && exit 0

echo "Installing Debian packages: ${need[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "error: missing ${need[*]} and not root (no sudo): install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
