// Package dbtest gives tests real PostgreSQL and MariaDB servers.
//
// Postgres and MariaDB use JAGAD_TEST_PG_URL (postgres://user:pass@host:port/db)
// and JAGAD_TEST_MYSQL_URL (mysql://user:pass@host:port) when set. Otherwise
// they start one throwaway server per test process from the installed
// binaries (temp dir, random port on 127.0.0.1, password auth) on first use.
// Call Main from TestMain so the servers stop and their directories are
// removed when the tests end; a server also stops by itself when the test
// process dies.
//
// When no server can be had, the test is skipped, or fails when CI=true.
package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

// Environment variables that point the helpers at existing servers.
const (
	EnvPostgresURL = "JAGAD_TEST_PG_URL"
	EnvMySQLURL    = "JAGAD_TEST_MYSQL_URL"
)

// instance is one lazily started server of the test process.
type instance struct {
	once sync.Once
	srv  *Server
	stop func()
	err  error
}

// servers are the per-process test servers: a test binary is one process and
// starts each server at most once.
var servers = struct {
	pg, my instance
}{}

// Main runs the tests and then stops the servers this process started.
// Use it as: func TestMain(m *testing.M) { dbtest.Main(m) }.
func Main(m *testing.M) { os.Exit(Run(m).Run()) }

// Run wraps m so that its Run also stops the servers this process started,
// after the tests and before the caller looks at what is left, e.g.
// goleak.VerifyTestMain(dbtest.Run(m)).
func Run(m interface{ Run() int }) interface{ Run() int } { return stopAfter{m} }

type stopAfter struct{ m interface{ Run() int } }

func (s stopAfter) Run() int {
	code := s.m.Run()
	for _, in := range []*instance{&servers.pg, &servers.my} {
		if in.srv != nil {
			in.srv.closePools() // pools of databases the tests did not drop
		}
		if in.stop != nil {
			in.stop()
		}
	}
	return code
}

// Postgres returns the PostgreSQL test server.
func Postgres(tb testing.TB) *Server {
	tb.Helper()
	return get(tb, &servers.pg, EnvPostgresURL, startPostgres)
}

// MariaDB returns the MariaDB (MySQL-compatible) test server.
func MariaDB(tb testing.TB) *Server {
	tb.Helper()
	return get(tb, &servers.my, EnvMySQLURL, startMariaDB)
}

func get(tb testing.TB, in *instance, env string, start func() (*Server, func(), error)) *Server {
	tb.Helper()
	in.once.Do(func() {
		if raw := os.Getenv(env); raw != "" {
			in.srv, in.err = fromURL(raw)
			if in.err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				in.err = dbclient.Ping(ctx, in.srv.Target(""))
				cancel()
			}
			if in.err != nil {
				in.err = fmt.Errorf("%s: %w", env, in.err)
			}
			return
		}
		in.srv, in.stop, in.err = start()
	})
	if in.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("database server unavailable (CI=true, so this fails): %v", in.err)
		}
		tb.Skipf("database server unavailable: %v", in.err)
	}
	return in.srv
}

// fromURL parses postgres://user:pass@host:port/db or mysql://user:pass@host:port.
func fromURL(raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	var dbType, adminDB string
	port := 3306
	switch u.Scheme {
	case "postgres", "postgresql":
		dbType, adminDB, port = dbclient.PostgreSQL, strings.TrimPrefix(u.Path, "/"), 5432
		if adminDB == "" {
			adminDB = "postgres"
		}
	case "mysql", "mariadb":
		dbType = dbclient.MariaDB
	default:
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("bad port %q", p)
		}
	}
	pw, _ := u.User.Password()
	return newServer(dbType, u.Hostname(), port, u.User.Username(), pw, adminDB), nil
}
