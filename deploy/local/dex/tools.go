//go:build tools

// Package tools pins Dex (github.com/dexidp/dex) in this module's go.mod/go.sum; deploy/local/oidc.sh builds
// its command github.com/dexidp/dex/cmd/dex from the Go module proxy with apiserver_stub.go overlaid.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
