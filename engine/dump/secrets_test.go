package dump

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
)

// TestChildSeesNoPassword inspects the real dump tool twice: right after it
// starts (credentials file present: 0600 in a 0700 dir, path passed as
// PGPASSFILE or as the first argument --defaults-extra-file) and while it
// streams (our writer blocks on the first write; the fixture is far larger
// than a pipe buffer, so the tool cannot finish) — by then the credentials
// file is already gone. Neither argv nor the environment ever holds the
// password or an inherited PG*/MYSQL* variable, and the child leads its own
// process group.
func TestChildSeesNoPassword(t *testing.T) {
	const envMarker = "inherited-env-marker"
	t.Setenv("PGPASSWORD", envMarker)
	t.Setenv("PGHOST", envMarker)
	t.Setenv("MYSQL_PWD", envMarker)
	for _, f := range flavours {
		t.Run(f.dbType, func(t *testing.T) {
			s := f.server(t)
			needPassword(t, s)
			db := s.CreateDB(t, "secrets")
			loadFixture(t, s, db)

			atStart := make(chan procSnapshot, 1)
			ctx := withPIDHook(testCtx(t), func(pid int) { atStart <- snapshot(pid) })
			firstWrite, release := make(chan struct{}), make(chan struct{})
			w := &funcWriter{fn: func(int64) error {
				if firstWrite != nil {
					close(firstWrite)
					firstWrite = nil
					<-release
				}
				return nil
			}}
			wrote := firstWrite
			done := make(chan error, 1)
			go func() {
				_, err := Dump(ctx, target(s, f.dbType, db), Tools{}, w, &bytes.Buffer{})
				done <- err
			}()
			start := <-atStart
			credFile := checkSnapshot(t, start, f.dbType, s.Password, envMarker)
			checkCredFile(t, start, s.Password)
			select {
			case <-wrote:
			case err := <-done:
				t.Fatalf("dump ended before its first write: %v", err)
			}
			running := snapshot(start.pid)
			checkSnapshot(t, running, f.dbType, s.Password, envMarker)
			if _, err := os.Stat(filepath.Dir(credFile)); !os.IsNotExist(err) {
				t.Errorf("credentials still on disk while the dump streams: %v", err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatalf("dump: %v", err)
			}
		})
	}
}

// procSnapshot is what /proc shows of the child, plus its credentials file.
type procSnapshot struct {
	pid              int
	cmdline, environ []byte
	stat             []byte
	credPath         string
	credMode         os.FileMode
	credDirMode      os.FileMode
	credContent      []byte
	err              error
}

// snapshot reads /proc/<pid> and the credentials file (hook-safe: no t).
func snapshot(pid int) procSnapshot {
	ps := procSnapshot{pid: pid}
	proc := "/proc/" + strconv.Itoa(pid)
	// exec(2) closes the close-on-exec pipe that tells Go the exec worked
	// before the new program's arguments are in place, so right after
	// Start the child can still show an empty cmdline: wait for them.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if b, err := os.ReadFile(proc + "/cmdline"); err != nil || len(b) > 0 {
			break
		}
	}
	for _, r := range []struct {
		name string
		dst  *[]byte
	}{{"cmdline", &ps.cmdline}, {"environ", &ps.environ}, {"stat", &ps.stat}} {
		if *r.dst, ps.err = os.ReadFile(proc + "/" + r.name); ps.err != nil {
			return ps
		}
	}
	args := strings.Split(strings.TrimRight(string(ps.cmdline), "\x00"), "\x00")
	for _, kv := range strings.Split(string(ps.environ), "\x00") {
		if v, ok := strings.CutPrefix(kv, "PGPASSFILE="); ok {
			ps.credPath = v
		}
	}
	if len(args) > 1 {
		if v, ok := strings.CutPrefix(args[1], "--defaults-extra-file="); ok {
			ps.credPath = v
		}
	}
	if st, err := os.Stat(ps.credPath); err == nil {
		ps.credMode = st.Mode().Perm()
		ps.credContent, _ = os.ReadFile(ps.credPath)
	}
	if st, err := os.Stat(filepath.Dir(ps.credPath)); err == nil {
		ps.credDirMode = st.Mode().Perm()
	}
	return ps
}

// checkSnapshot asserts argv/environment hygiene and returns the credentials
// file path.
func checkSnapshot(t *testing.T, ps procSnapshot, dbType, password, envMarker string) string {
	t.Helper()
	if ps.err != nil {
		t.Fatalf("read /proc/%d: %v", ps.pid, ps.err)
	}
	for _, b := range [][]byte{ps.cmdline, ps.environ} {
		for _, sec := range secretForms(password) {
			if bytes.Contains(b, []byte(sec)) {
				t.Fatalf("password visible in /proc: %q", b)
			}
		}
		if bytes.Contains(b, []byte(envMarker)) || bytes.Contains(b, []byte("PGPASSWORD=")) {
			t.Fatalf("inherited PG*/MYSQL* variable visible: %q", b)
		}
	}
	args := strings.Split(strings.TrimRight(string(ps.cmdline), "\x00"), "\x00")
	if len(args) < 3 {
		t.Fatalf("/proc/%d/cmdline = %q: process gone?", ps.pid, ps.cmdline)
	}
	if dbType == dbclient.PostgreSQL {
		if !strings.HasPrefix(args[len(args)-1], "--dbname=dbname='") {
			t.Fatalf("last argument %q is not a quoted conninfo", args[len(args)-1])
		}
	} else {
		if !strings.HasPrefix(args[1], "--defaults-extra-file=") || args[len(args)-2] != "--" {
			t.Fatalf("want --defaults-extra-file first and the database after --: %q", args)
		}
	}
	if ps.credPath == "" {
		t.Fatal("no credentials file passed to the tool")
	}
	fields := strings.Fields(string(ps.stat[bytes.LastIndexByte(ps.stat, ')')+1:]))
	if len(fields) < 3 || fields[2] != strconv.Itoa(ps.pid) {
		t.Fatalf("child is not a process group leader: pgrp %s, pid %d", fields[2], ps.pid)
	}
	return ps.credPath
}

func checkCredFile(t *testing.T, ps procSnapshot, password string) {
	t.Helper()
	if ps.credMode != 0o600 || ps.credDirMode != 0o700 {
		t.Fatalf("credentials file mode %v, dir mode %v; want 0600 / 0700", ps.credMode, ps.credDirMode)
	}
	found := false
	for _, sec := range secretForms(password) {
		found = found || bytes.Contains(ps.credContent, []byte(sec))
	}
	if !found {
		t.Fatalf("credentials file does not carry the (escaped) password")
	}
}

// TestCredentialFiles checks the escaping of pgpass and option-file values.
func TestCredentialFiles(t *testing.T) {
	tg := dbclient.Target{DBType: dbclient.PostgreSQL, Host: "db:host", Port: 5433, User: `u\ser`, Password: `p:a\ss`}
	if got, want := pgpassLine(tg), `db\:host:5433:*:u\\ser:p\:a\\ss`+"\n"; got != want {
		t.Errorf("pgpassLine = %q, want %q", got, want)
	}
	if got, want := cnfQuote("a\"b'c\\d#e f\n"), `"a\"b\'c\\d#e f\n"`; got != want {
		t.Errorf("cnfQuote = %s, want %s", got, want)
	}
	tg.DBType, tg.Password = dbclient.MySQL, "x\r"
	if _, err := pgCommand(dbclient.Target{DBType: dbclient.PostgreSQL, Host: "h", User: "u", Password: "a\nb"}, nil); err == nil {
		t.Error("pgCommand accepted a password with a newline")
	}
	cmd, err := mysqlCommand(tg, tool{mariadb: true}, []string{"--x"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.cleanup()
	if !strings.HasPrefix(cmd.args[0], "--defaults-extra-file=") || cmd.args[len(cmd.args)-1] != "--database="+tg.Database {
		t.Fatalf("args = %q", cmd.args)
	}
	for _, kv := range cmd.env {
		if strings.HasPrefix(kv, "HOME=") {
			t.Fatalf("mysql child gets HOME (its ~/.my.cnf would override the credentials): %q", kv)
		}
	}
}

func TestChildEnv(t *testing.T) {
	t.Setenv("PGSSLMODE", "disable")
	t.Setenv("MYSQL_HOST", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
	t.Setenv("LC_ALL", "C.UTF-8")
	env := strings.Join(childEnv(true), "\n")
	for _, bad := range []string{"PGSSLMODE", "MYSQL_HOST", "AWS_SECRET_ACCESS_KEY"} {
		if strings.Contains(env, bad) {
			t.Errorf("child env contains %s", bad)
		}
	}
	for _, good := range []string{"PATH=", "LC_ALL=C.UTF-8"} {
		if !strings.Contains(env, good) {
			t.Errorf("child env lacks %s", good)
		}
	}
}

func TestContextHookIsOptional(t *testing.T) {
	// run without a hook must not panic (production path).
	err := run(context.Background(), spec{tool: tool{name: "true", path: "/bin/true"}, env: childEnv(false)})
	if err != nil {
		t.Fatal(err)
	}
}
