//go:build tools

// Package tools pins the versions of the test servers that `make test` builds.
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
)
