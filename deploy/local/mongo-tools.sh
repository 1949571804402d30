#!/usr/bin/env bash
# MongoDB's Database Tools (mongodump, mongorestore), built once into the cache and printed:
#   deploy/local/mongo-tools.sh      -> ${LIENTHONG_CACHE:-~/.cache/lienthong}/mongo-tools-<version>/bin
# Only the backup tests need them (tests/integration/shared/test_mongo_tools.py); production uses MongoDB's own.
#
# Where the source comes from, in this order:
#   1. MONGO_TOOLS_SOURCE: a git repository (a clone, or a bare mirror) of mongodb/mongo-tools that has the pinned
#      commit; that commit's tree is built, so the cache key stays honest.
#   2. The Go module proxy (the module github.com/mongodb/mongo-tools at the pinned commit). Our machines' proxy
#      answers 403 "This module version is not available" for it (docs/operations.md#backup-and-restore).
# The tree vendors every dependency, so the build itself is offline (-mod=vendor, GOPROXY=off).
# Exit 0: the bin folder on stdout. Exit 3: no source could be had (the reason on stderr). Exit 2: no Go.
set -euo pipefail

VERSION="${MONGO_TOOLS_VERSION:-100.18.0}"
COMMIT="${MONGO_TOOLS_COMMIT:-21a342dfee6468ad9350d156d25086da64dd03b1}" # tag 100.18.0
CACHE="${LIENTHONG_CACHE:-$HOME/.cache/lienthong}"
DEST="$CACHE/mongo-tools-$VERSION"
TOOLS=(mongodump mongorestore)

say() { echo "mongo-tools: $*" >&2; }
built() { for t in "${TOOLS[@]}"; do [[ -x "$DEST/bin/$t" ]] || return 1; done; }

if built; then
  echo "$DEST/bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  say "Go is not installed (needed to build mongo-tools $VERSION)"
  exit 2
fi
mkdir -p "$DEST"
TMP="$(mktemp -d "$DEST/.build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if [[ -n "${MONGO_TOOLS_SOURCE:-}" ]]; then
  git_dir="$(git -C "$MONGO_TOOLS_SOURCE" rev-parse --git-dir 2>/dev/null)" ||
    { say "MONGO_TOOLS_SOURCE=$MONGO_TOOLS_SOURCE is no git repository"; exit 3; }
  [[ $git_dir == /* ]] || git_dir="$MONGO_TOOLS_SOURCE/$git_dir"
  git --git-dir="$git_dir" cat-file -e "$COMMIT^{commit}" 2>/dev/null ||
    { say "$MONGO_TOOLS_SOURCE has no commit $COMMIT (mongo-tools $VERSION)"; exit 3; }
  mkdir "$TMP/src"
  git --git-dir="$git_dir" archive "$COMMIT" | tar -x -C "$TMP/src"
  SRC="$TMP/src"
else
  say "downloading github.com/mongodb/mongo-tools@$COMMIT from the Go module proxy"
  (cd "$TMP" && GOFLAGS=-mod=mod GOMODCACHE="$TMP/modcache" \
    go mod download -json "github.com/mongodb/mongo-tools@$COMMIT" >"$TMP/download.json" 2>"$TMP/download.err") || true
  if ! SRC="$("${PYTHON:-python3}" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["Dir"]) if d.get("Dir") else sys.exit(d.get("Error") or "no source folder")' "$TMP/download.json" 2>&1)"; then
    say "the Go module proxy did not give it: $SRC $(cat "$TMP/download.err")"
    say "set MONGO_TOOLS_SOURCE to a clone of mongodb/mongo-tools that has commit $COMMIT to build from it"
    chmod -R u+w "$TMP" 2>/dev/null || true
    exit 3
  fi
fi

say "building ${TOOLS[*]} $VERSION (once; cached in $DEST)"
mkdir -p "$TMP/bin"
for tool in "${TOOLS[@]}"; do
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local \
    go build -trimpath -ldflags="-s -w -X main.VersionStr=$VERSION -X main.GitCommit=$COMMIT" \
    -o "$TMP/bin/$tool" "./$tool/main") >&2
done
chmod -R u+w "$TMP" 2>/dev/null || true
# rename into place last so a half-finished build is never taken for a cached one
rm -rf "$DEST/bin"
mv "$TMP/bin" "$DEST/bin"
echo "$DEST/bin"
