#!/usr/bin/env bash
# Set-up part: the offline Kubernetes manifest checks of test/deploy/:
#  - kubernetes-validate (PyPI), which bundles the Kubernetes JSON schemas, in a venv in $VO_CACHE
#  - kustomize (Go module sigs.k8s.io/kustomize/kustomize/v5, built with `go install`, ~1 min once) to
#    render deploy/k8s exactly as `kubectl apply -k` would before it is validated
# Idempotent: does nothing when both are at the pinned versions.
set -euo pipefail

KUBERNETES_VALIDATE_VERSION="1.37.0"
KUSTOMIZE_VERSION="5.7.1"
source "$(dirname "$0")/lib.sh"
VENV="$VO_CACHE/venv-k8s-validate"
STAMP="$VENV/.vo-installed"
WANT="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
KUSTOMIZE="$VO_CACHE/bin/kustomize"

kustomize_version() { "$KUSTOMIZE" version 2>/dev/null | sed 's/^v//'; }

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/kubernetes-validate" && -x "$KUSTOMIZE" \
      && "$(kustomize_version)" == "$KUSTOMIZE_VERSION" ]]; then
  say "already installed ($WANT, kustomize $KUSTOMIZE_VERSION)"
  exit 0
fi
start=$(date +%s)
if ! venv_current "$VENV" "$WANT" || [[ ! -x "$VENV/bin/kubernetes-validate" ]]; then
  venv_install "$VENV" "$WANT" "it bundles the Kubernetes schemas, so validation runs offline"
  "$VENV/bin/kubernetes-validate" --version >/dev/null || fail "kubernetes-validate does not run: see the error above"
  venv_done "$VENV" "$WANT"
fi
if [[ ! -x "$KUSTOMIZE" || "$(kustomize_version)" != "$KUSTOMIZE_VERSION" ]]; then
  command -v go >/dev/null || fail "Go is not installed: install it (e.g. from the distribution) and re-run"
  say "building kustomize $KUSTOMIZE_VERSION with 'go install' (Go module proxy)"
  mkdir -p "$VO_CACHE/bin"
  CGO_ENABLED=0 GOBIN="$VO_CACHE/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION" \
    || fail "go install of kustomize failed (Go module proxy reachable?)"
  [[ "$(kustomize_version)" == "$KUSTOMIZE_VERSION" ]] || fail "kustomize reports '$(kustomize_version)', expected $KUSTOMIZE_VERSION"
fi
say "ready in $(( $(date +%s) - start )) s"
