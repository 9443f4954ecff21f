package dbclient_test

import (
	"context"
	"database/sql"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type serverCase struct {
	name    string
	get     func(testing.TB) *dbtest.Server
	version *regexp.Regexp
	authMsg string
}

var serverCases = []serverCase{
	{"postgresql", dbtest.Postgres, regexp.MustCompile(`^\d+\.\d+$`), "password authentication failed for user"},
	{"mariadb", dbtest.MariaDB, regexp.MustCompile(`^\d+\.\d+\.\d+-MariaDB$`), "Access denied for user"},
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPingAndVersion(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.get(t)
			ctx := ctxT(t)
			if err := dbclient.Ping(ctx, s.Target("")); err != nil {
				t.Fatalf("ping: %v", err)
			}
			v, err := dbclient.ServerVersion(ctx, s.Target(""))
			if err != nil || !sc.version.MatchString(v) {
				t.Fatalf("ServerVersion = %q, %v; want match %s", v, err, sc.version)
			}

			if s.Password == "" { // a server from a JAGAD_TEST_*_URL without password auth
				if os.Getenv("CI") == "true" {
					t.Fatal("test server has no password; the wrong-password check needs one (CI=true)")
				}
				t.Skip("test server has no password; wrong-password check skipped")
			}
			const marker = "Wr0ng-PASSWORD-marker"
			bad := s.Target("")
			bad.Password = marker
			err = dbclient.Ping(ctx, bad)
			if err == nil {
				t.Fatal("ping with a wrong password succeeded")
			}
			msg := err.Error()
			wantPrefix := "connect to " + s.DBType + " at " + net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) + ": "
			if !strings.HasPrefix(msg, wantPrefix) || !strings.Contains(msg, sc.authMsg) {
				t.Fatalf("error %q: want prefix %q and %q", msg, wantPrefix, sc.authMsg)
			}
			if strings.Contains(msg, marker) {
				t.Fatalf("error contains the password: %q", msg)
			}
		})
	}
}

func TestPingUnreachableIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts TCP but never speaks the protocol
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	for _, typ := range []string{dbclient.PostgreSQL, dbclient.MySQL} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := dbclient.Ping(context.Background(), dbclient.Target{DBType: typ, Host: "127.0.0.1", Port: port, User: "u", Password: "secret-pw", SSLMode: "disable"})
			if err == nil {
				t.Fatal("ping of a silent server succeeded")
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Fatalf("ping took %s, want ≈5 s timeout", d)
			}
			if !strings.Contains(err.Error(), "timed out") {
				t.Fatalf("error %q does not say it timed out", err)
			}
		})
	}
}

func TestDatabasesLifecycle(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.get(t)
			ctx := ctxT(t)
			tg := s.Target("")
			names := []string{"-evil x" + suffix(t), `a"b'c` + suffix(t), "Ünï`code" + suffix(t)}
			for _, n := range names {
				if err := dbclient.CreateDatabase(ctx, tg, n); err != nil {
					t.Fatalf("create %q: %v", n, err)
				}
				t.Cleanup(func() { _ = dbclient.DropDatabase(context.Background(), tg, n) })
				ok, err := dbclient.DatabaseExists(ctx, tg, n)
				if err != nil || !ok {
					t.Fatalf("exists %q = %v, %v", n, ok, err)
				}
			}
			s.Exec(t, names[0], `CREATE TABLE t1 (id int PRIMARY KEY, v text); CREATE TABLE t2 (id int);
				INSERT INTO t1 VALUES (1,'a'),(2,'b'),(3,'c'); INSERT INTO t2 VALUES (1);`)

			dbs, err := dbclient.ListDatabases(ctx, tg)
			if err != nil {
				t.Fatal(err)
			}
			if !sort.SliceIsSorted(dbs, func(i, j int) bool { return dbs[i].Name < dbs[j].Name }) {
				t.Fatalf("not ordered: %v", dbs)
			}
			for _, n := range names {
				i := slices.IndexFunc(dbs, func(d dbclient.DBInfo) bool { return d.Name == n })
				if i < 0 {
					t.Fatalf("%q not listed in %v", n, dbs)
				}
				if n == names[0] && dbs[i].SizeBytes <= 0 {
					t.Fatalf("size of %q = %d, want > 0", n, dbs[i].SizeBytes)
				}
			}
			for _, d := range dbs {
				if d.Name == "template0" || d.Name == "template1" || d.Name == "mysql" ||
					d.Name == "information_schema" || d.Name == "performance_schema" || d.Name == "sys" {
					t.Fatalf("system database %q listed", d.Name)
				}
			}

			counts, err := dbclient.TableCounts(ctx, tg, names[0])
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"t1": 3, "t2": 1}
			if s.DBType == dbclient.PostgreSQL {
				want = map[string]int64{"public.t1": 3, "public.t2": 1}
			}
			if !maps.Equal(counts, want) {
				t.Fatalf("TableCounts = %v, want %v", counts, want)
			}

			// A session still connected to the database must not block the drop.
			hold := s.DB(t, names[0])
			if err := hold.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			if s.DBType == dbclient.PostgreSQL {
				holdSession(t, hold)
			}
			for _, n := range names {
				if err := dbclient.DropDatabase(ctx, tg, n); err != nil {
					t.Fatalf("drop %q: %v", n, err)
				}
				if ok, err := dbclient.DatabaseExists(ctx, tg, n); err != nil || ok {
					t.Fatalf("after drop exists %q = %v, %v", n, ok, err)
				}
				if err := dbclient.DropDatabase(ctx, tg, n); err != nil {
					t.Fatalf("second drop %q: %v", n, err)
				}
			}
		})
	}
}

// holdSession keeps a connection of pool open and busy in a transaction.
func holdSession(t *testing.T, pool *sql.DB) {
	tx, err := pool.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SELECT 1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
}

func TestMySQLDiscoveryHidesUnderscoreNames(t *testing.T) {
	s := dbtest.MariaDB(t)
	ctx := ctxT(t)
	hidden := "_hidden" + suffix(t)
	if err := dbclient.CreateDatabase(ctx, s.Target(""), hidden); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dbclient.DropDatabase(context.Background(), s.Target(""), hidden) })
	dbs, err := dbclient.ListDatabases(ctx, s.Target(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbs {
		if d.Name == hidden {
			t.Fatalf("%q listed", hidden)
		}
	}
}

func TestTableCountsMissingDatabase(t *testing.T) {
	for _, sc := range serverCases {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.get(t)
			if _, err := dbclient.TableCounts(ctxT(t), s.Target(""), "nope"+suffix(t)); err == nil {
				t.Fatal("TableCounts of a missing database succeeded")
			}
		})
	}
}

func suffix(t *testing.T) string {
	return "_" + strings.ToLower(strings.NewReplacer("/", "", "_", "").Replace(t.Name()))[:6] + strconv.Itoa(int(time.Now().UnixNano()%100000))
}
