#!/usr/bin/env bash
# The end-to-end suites run real peers from Debian: Prometheus (promtool), Alertmanager (amtool), Chromium, and
# kubectl from kubernetes-client (renders the Kubernetes kit with `kubectl kustomize`).
# Installs whatever is missing when we may (root with apt-get); otherwise says what to install.
#
# Debian's kubectl is what the tests use, whatever else is on the PATH. When another package owns /usr/bin/kubectl
# (a cloud SDK's), Debian's is unpacked beside it instead, into $KUBECTL_DIR; test/support/kubectl.ts looks there first.
set -euo pipefail
KUBECTL_DIR=/opt/phala-drift/kubernetes-client

debian_kubectl() {
  [[ -x $KUBECTL_DIR/usr/bin/kubectl ]] || dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q "ok installed"
}

missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
need_kubectl=false
debian_kubectl || need_kubectl=true
((${#missing[@]} == 0)) && [[ $need_kubectl == false ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  [[ $need_kubectl == true ]] && missing+=(kubernetes-client)
  echo "missing tools for the end-to-end suites; install the Debian packages: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "apt-get update failed; trying with the package lists already on this machine" >&2
if ((${#missing[@]} > 0)); then
  echo "installing Debian packages for the end-to-end suites: ${missing[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ $need_kubectl == true ]]; then
  owner=$(dpkg-query -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || true)
  if [[ -z $owner || $owner == kubernetes-client ]]; then
    echo "installing Debian packages for the end-to-end suites: kubernetes-client" >&2
    apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
  else
    echo "unpacking Debian's kubernetes-client into $KUBECTL_DIR (/usr/bin/kubectl belongs to $owner)" >&2
    tmp=$(mktemp -d)
    chmod 755 "$tmp" && chown _apt "$tmp" 2>/dev/null || true
    (cd "$tmp" && apt-get download -qq kubernetes-client)
    mkdir -p "$KUBECTL_DIR"
    dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$KUBECTL_DIR"
    rm -rf "$tmp"
  fi
fi
debian_kubectl || { echo "Debian's kubectl is still missing" >&2; exit 1; }
