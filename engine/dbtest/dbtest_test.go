package dbtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

func TestMain(m *testing.M) { Main(m) }

func TestServers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		get    func(testing.TB) *Server
		env    string
		table  string
		create string
	}{
		{"postgresql", Postgres, EnvPostgresURL, "public.t", `CREATE TABLE t (id int PRIMARY KEY, v text);`},
		{"mariadb", MariaDB, EnvMySQLURL, "t", `CREATE TABLE t (id int PRIMARY KEY, v text);`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.get(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if os.Getenv(tc.env) == "" { // throwaway server: password auth must be on
				if s.Password == "" {
					t.Fatal("server has no password: password auth is not exercised")
				}
				bad := s.Target("")
				bad.Password = "wrong"
				if err := dbclient.Ping(ctx, bad); err == nil {
					t.Fatal("ping with a wrong password succeeded: password auth is not enforced")
				}
			}

			db := s.CreateDB(t, "smoke")
			s.Exec(t, db, tc.create+` INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, NULL);`)
			sum1 := s.Checksum(t, db)
			if !strings.HasPrefix(sum1[tc.table], "rows=2 ") {
				t.Fatalf("checksum = %v, want 2 rows in %s", sum1, tc.table)
			}
			if again := s.Checksum(t, db); again[tc.table] != sum1[tc.table] {
				t.Fatalf("checksum not stable: %v vs %v", again, sum1)
			}
			s.Exec(t, db, `UPDATE t SET v = '' WHERE id = 2`) // NULL → '' must change the sum
			if sum2 := s.Checksum(t, db); sum2[tc.table] == sum1[tc.table] {
				t.Fatalf("checksum did not change after NULL became ''")
			}
			s.DropDB(t, db)
			ok, err := dbclient.DatabaseExists(ctx, s.Target(""), db)
			if err != nil || ok {
				t.Fatalf("after DropDB exists=%v err=%v", ok, err)
			}
		})
	}
}

// TestMariaDBPrivateTmpdir guards the cause of a CI failure: a throwaway
// mariadbd sharing /tmp deletes, as it starts, the #sql* temp-table files of
// every other server there, failing their running queries.
func TestMariaDBPrivateTmpdir(t *testing.T) {
	if os.Getenv(EnvMySQLURL) != "" {
		t.Skip("external server: its tmpdir is not ours to choose")
	}
	s := MariaDB(t)
	var tmpdir string
	if err := s.DB(t, "").QueryRow("SELECT @@tmpdir").Scan(&tmpdir); err != nil {
		t.Fatal(err)
	}
	if filepath.Clean(tmpdir) == filepath.Clean(os.TempDir()) || !strings.Contains(tmpdir, "jagad-mytest-") {
		t.Fatalf("throwaway mariadbd tmpdir = %q, want a private dir under its own jagad-mytest-* dir", tmpdir)
	}
}

func TestFromURL(t *testing.T) {
	type conn struct {
		DBType, Host   string
		Port           int
		User, Password string
		AdminDB        string
	}
	tests := []struct {
		name, raw string
		want      conn
		wantErr   bool
	}{
		{"postgres", "postgres://u:p%3Aw@db.local:6543/admin",
			conn{DBType: "postgresql", Host: "db.local", Port: 6543, User: "u", Password: "p:w", AdminDB: "admin"}, false},
		{"postgres default db and port", "postgresql://u@h",
			conn{DBType: "postgresql", Host: "h", Port: 5432, User: "u", AdminDB: "postgres"}, false},
		{"mysql", "mysql://root:secret@127.0.0.1:3307",
			conn{DBType: "mariadb", Host: "127.0.0.1", Port: 3307, User: "root", Password: "secret"}, false},
		{"bad scheme", "http://x", conn{}, true},
		{"bad port", "mysql://u@h:abc", conn{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fromURL(tc.raw)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			have := conn{got.DBType, got.Host, got.Port, got.User, got.Password, got.AdminDB}
			if have != tc.want {
				t.Fatalf("got %+v, want %+v", have, tc.want)
			}
		})
	}
}

func TestSweepStale(t *testing.T) {
	const prefix = "jagad-sweeptest-"
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(pid int) string {
		d, err := os.MkdirTemp("", prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		if err := os.WriteFile(filepath.Join(d, "owner.pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stale, live := mk(dead.Process.Pid), mk(os.Getpid())
	sweepStale(prefix)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("dir of a dead owner kept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("dir of a live owner removed: %v", err)
	}
}
