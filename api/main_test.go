package api

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test left a goroutine behind (a handler, a
// session sweeper, an httptest server or client connection not closed).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
