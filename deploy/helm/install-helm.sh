#!/usr/bin/env bash
# Build helm once from the Go module proxy into the cache and print its path.
#   deploy/helm/install-helm.sh            -> ${LIENTHONG_CACHE:-~/.cache/lienthong}/helm-<version>/helm
# Helm is a Go module (helm.sh/helm/v3); our machines reach the Go proxy but not get.helm.sh.
# The build is keyed by version, so a second call returns at once.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.19.5}"
CACHE="${LIENTHONG_CACHE:-$HOME/.cache/lienthong}"
DEST="$CACHE/helm-$HELM_VERSION"
BIN="$DEST/helm"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: Go is not installed (needed to build helm $HELM_VERSION from the Go module proxy)" >&2
  exit 2
fi
mkdir -p "$DEST"
TMP="$(mktemp -d "$DEST/.build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
echo "install-helm: building helm $HELM_VERSION (once; cached in $DEST)" >&2
# -trimpath/-ldflags: smaller binary; CGO off: a static binary that runs anywhere
CGO_ENABLED=0 GOBIN="$TMP" GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install -ldflags="-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
# rename into place last so a half-finished build is never taken for a cached one
mv "$TMP/helm" "$BIN"
echo "$BIN"
