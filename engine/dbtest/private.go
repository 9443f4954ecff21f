package dbtest

import (
	"os"
	"testing"
)

// PrivatePostgres starts a PostgreSQL server for this test alone (its own
// cluster in a temp dir, wal_level=replica and replication connections
// allowed for its superuser, as initdb's defaults give), stopped and
// removed when the test ends: for tests of physical backups and WAL
// archiving, which copy or follow the whole cluster. Skipped when no server
// can be started, failed under CI=true.
func PrivatePostgres(tb testing.TB) *Server {
	tb.Helper()
	srv, stop, err := startPostgres()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("database server unavailable (CI=true, so this fails): %v", err)
		}
		tb.Skipf("database server unavailable: %v", err)
	}
	tb.Cleanup(func() { srv.closePools(); stop() })
	return srv
}
