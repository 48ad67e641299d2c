#!/usr/bin/env bash
# The end-to-end suites run real peers from Debian: Prometheus (promtool), Alertmanager (amtool) and Chromium.
# Installs whatever is missing when we may (root with apt-get); otherwise says what to install.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the end-to-end suites: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "apt-get update failed; trying with the package lists already on this machine" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing tools for the end-to-end suites; install the Debian packages: ${missing[*]}" >&2
  exit 1
fi
