package dump

import (
	"context"
	"net"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
)

// The row counts run beside a physical copy: with no database there is
// nothing to count, and a count that cannot reach the server returns its
// error (Physical logs it) instead of blocking the backup's end.
func TestCountBeside(t *testing.T) {
	counts, err := countBeside(context.Background(), dbclient.Target{DBType: "mariadb", Host: "127.0.0.1", Port: 1}).wait()
	if counts != nil || err != nil {
		t.Fatalf("no database: counts %v, err %v; want nothing", counts, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nothing listens there now
	down := dbclient.Target{DBType: "mariadb", Host: "127.0.0.1", Port: port, User: "root", SSLMode: "disable", Database: "bench"}
	if counts, err = countBeside(context.Background(), down).wait(); err == nil || counts != nil {
		t.Fatalf("server down: counts %v, err %v; want an error", counts, err)
	}

	// cancel returns once the count has stopped.
	countBeside(context.Background(), down).cancel()
}
