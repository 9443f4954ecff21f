package storage_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Part uploaders must not outlive Put; idle keep-alive connections of the
// stores' HTTP transports are expected.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
