package dump

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"

	"github.com/jagad/jagad/state/logbuf"
)

func TestPreflightErrors(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "pg_dump")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dbType  string
		server  func(testing.TB) *dbtest.Server
		tools   func(t *testing.T) Tools
		db      string // "" → an existing database
		badPass bool
		want    []string
	}{
		{name: "pg tool missing", dbType: dbclient.PostgreSQL, server: dbtest.Postgres,
			tools: func(*testing.T) Tools { return Tools{PgDump: "/nonexistent/pg_dump"} }, want: []string{"/nonexistent/pg_dump", "not found"}},
		{name: "pg tool not executable", dbType: dbclient.PostgreSQL, server: dbtest.Postgres,
			tools: func(*testing.T) Tools { return Tools{PgDump: notExec} }, want: []string{"not an executable"}},
		{name: "mysql tool missing", dbType: dbclient.MySQL, server: dbtest.MariaDB,
			tools: func(*testing.T) Tools { return Tools{Mysqldump: "/nonexistent/mysqldump"} }, want: []string{"/nonexistent/mysqldump"}},
		{name: "pg database missing", dbType: dbclient.PostgreSQL, server: dbtest.Postgres, db: "missing_db_x",
			want: []string{`database "missing_db_x" does not exist`}},
		{name: "mariadb database missing", dbType: dbclient.MariaDB, server: dbtest.MariaDB, db: "missing_db_x",
			want: []string{`database "missing_db_x" does not exist`}},
		{name: "pg_dump older than server", dbType: dbclient.PostgreSQL, server: dbtest.Postgres,
			tools: func(t *testing.T) Tools {
				return Tools{PgDump: fakeTool(t, "pg_dump", "pg_dump (PostgreSQL) 11.22", "exit 0")}
			}, want: []string{"pg_dump (PostgreSQL) 11.22 is older than the PostgreSQL 1", "install pg_dump 1"}},
		{name: "pg wrong password", dbType: dbclient.PostgreSQL, server: dbtest.Postgres, badPass: true,
			want: []string{"password authentication failed"}},
		{name: "mariadb wrong password", dbType: dbclient.MariaDB, server: dbtest.MariaDB, badPass: true,
			want: []string{"Access denied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server(t)
			db := tc.db
			if db == "" {
				db = s.CreateDB(t, "pre")
			}
			tg := target(s, tc.dbType, db)
			if tc.badPass {
				needPassword(t, s)
				tg.Password = "Wr0ng-marker-pw"
			}
			var tools Tools
			if tc.tools != nil {
				tools = tc.tools(t)
			}
			var out bytes.Buffer
			_, err := Dump(testCtx(t), tg, tools, &out, nil)
			if err == nil {
				t.Fatal("dump succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if (tg.Password != "" && strings.Contains(err.Error(), tg.Password)) || out.Len() != 0 {
				t.Errorf("error contains the password or output was written (%d bytes): %v", out.Len(), err)
			}
		})
	}
}

// TestImplausibleOutput runs fake dump tools (real servers for preflight)
// whose exit status or output must make the dump fail.
func TestImplausibleOutput(t *testing.T) {
	// Prints the credentials file to stderr: the password must be scrubbed.
	catCreds := `case "$1" in --defaults-extra-file=*) cat "${1#--defaults-extra-file=}" >&2;; *) echo "first arg: $1" >&2;; esac; exit 2`
	tests := []struct {
		name   string
		dbType string
		server func(testing.TB) *dbtest.Server
		tool   func(t *testing.T) Tools
		want   []string
	}{
		{"pg empty output", dbclient.PostgreSQL, dbtest.Postgres,
			func(t *testing.T) Tools { return Tools{PgDump: fakeTool(t, "pg_dump", fakePgVersion, "exit 0")} },
			[]string{"produced no output"}},
		{"pg not an archive", dbclient.PostgreSQL, dbtest.Postgres,
			func(t *testing.T) Tools {
				return Tools{PgDump: fakeTool(t, "pg_dump", fakePgVersion, "echo 'CREATE TABLE x();'")}
			}, []string{"no PGDMP header"}},
		{"pg exit status", dbclient.PostgreSQL, dbtest.Postgres,
			func(t *testing.T) Tools {
				return Tools{PgDump: fakeTool(t, "pg_dump", fakePgVersion, "printf PGDMP; echo 'pg_dump: error: boom' >&2; exit 3")}
			}, []string{"exited with status 3", "pg_dump: error: boom"}},
		{"pg password file scrubbed", dbclient.PostgreSQL, dbtest.Postgres,
			func(t *testing.T) Tools {
				return Tools{PgDump: fakeTool(t, "pg_dump", fakePgVersion, `cat "$PGPASSFILE" >&2; exit 2`)}
			}, []string{"exited with status 2", "<redacted>"}},
		{"mysql no trailer", dbclient.MySQL, dbtest.MariaDB,
			func(t *testing.T) Tools {
				return Tools{Mysqldump: fakeTool(t, "mysqldump", fakeMySQLVersion, "echo '-- MariaDB dump'; echo 'CREATE TABLE t (id int);'")}
			}, []string{`no "-- Dump completed" trailer`}},
		{"mysql trailer not last", dbclient.MariaDB, dbtest.MariaDB,
			func(t *testing.T) Tools {
				return Tools{Mysqldump: fakeTool(t, "mariadb-dump", fakeMySQLVersion, "echo '-- Dump completed on x'; echo 'INSERT INTO t VALUES (1);'")}
			}, []string{"trailer"}},
		{"mysql options file scrubbed", dbclient.MariaDB, dbtest.MariaDB,
			func(t *testing.T) Tools {
				return Tools{Mysqldump: fakeTool(t, "mariadb-dump", fakeMySQLVersion, catCreds)}
			}, []string{"exited with status 2", "password=\"<redacted>\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server(t)
			if strings.Contains(tc.name, "scrubbed") {
				needPassword(t, s)
			}
			db := s.CreateDB(t, "fake")
			log := &logbuf.Buffer{}
			_, err := Dump(testCtx(t), target(s, tc.dbType, db), tc.tool(t), io.Discard, log)
			if err == nil {
				t.Fatalf("dump succeeded; log:\n%s", log)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, sec := range secretForms(s.Password) {
				if strings.Contains(err.Error(), sec) || strings.Contains(log.String(), sec) {
					t.Fatalf("password form %q leaked:\nerr: %v\nlog:\n%s", sec, err, log)
				}
			}
		})
	}
}

// slowTool writes a PGDMP header and then data forever; it also starts a
// background child in its process group that must die with it.
const slowTool = `(sleep 60; echo) & printf PGDMP; while :; do echo 0123456789abcdef; sleep 0.01; done`

func TestCancelKillsProcessGroup(t *testing.T) {
	s := dbtest.Postgres(t)
	db := s.CreateDB(t, "cancel")
	tools := Tools{PgDump: fakeTool(t, "pg_dump", fakePgVersion, slowTool)}
	t.Run("context canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var pid int
		ctx = withPIDHook(ctx, func(p int) { pid = p })
		w := &funcWriter{fn: func(n int64) error {
			if n > 1000 {
				cancel()
			}
			return nil
		}}
		start := time.Now()
		_, err := Dump(ctx, target(s, dbclient.PostgreSQL, db), tools, w, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %s", d)
		}
		assertGroupGone(t, pid)
	})
	t.Run("writer fails", func(t *testing.T) {
		var pid int
		ctx := withPIDHook(testCtx(t), func(p int) { pid = p })
		boom := errors.New("storage is full")
		w := &funcWriter{fn: func(n int64) error {
			if n > 1000 {
				return boom
			}
			return nil
		}}
		_, err := Dump(ctx, target(s, dbclient.PostgreSQL, db), tools, w, nil)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		assertGroupGone(t, pid)
	})
	t.Run("real pg_dump canceled", func(t *testing.T) {
		loadFixture(t, s, db)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var pid int
		ctx = withPIDHook(ctx, func(p int) { pid = p })
		w := &funcWriter{fn: func(int64) error { cancel(); return nil }}
		_, err := Dump(ctx, target(s, dbclient.PostgreSQL, db), Tools{}, w, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		assertGroupGone(t, pid)
	})
}

// funcWriter calls fn with the total bytes written so far.
type funcWriter struct {
	n  int64
	fn func(total int64) error
}

func (w *funcWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if err := w.fn(w.n); err != nil {
		return 0, err
	}
	return len(p), nil
}

// assertGroupGone waits up to 3 s until no live (non-zombie) process is
// left in process group pgid. Zombies are dead already; reaping orphans is
// up to the system's init.
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	if pgid <= 0 {
		t.Fatal("child pid not captured")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		live := liveGroupMembers(t, pgid)
		if len(live) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live processes: %v", pgid, live)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func liveGroupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp ...
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			live = append(live, strings.TrimSpace(s[:i+1])+" "+f[0])
		}
	}
	return live
}
