package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// proc is one process as /proc shows it.
type proc struct {
	pid, ppid int
	comm      string
	cmdline   []byte
	environ   []byte
}

func readProc(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 2 {
		return proc{}, false
	}
	p := proc{pid: pid, comm: string(stat[open+1 : end])}
	p.ppid, _ = strconv.Atoi(fields[1])
	p.cmdline, _ = os.ReadFile(dir + "/cmdline")
	p.environ, _ = os.ReadFile(dir + "/environ")
	return p, true
}

// descendants returns root and every process below it.
func descendants(root int) []proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]proc{}
	var rootProc proc
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			children[p.ppid] = append(children[p.ppid], p)
			if pid == root {
				rootProc, found = p, true
			}
		}
	}
	if !found {
		return nil
	}
	out := []proc{rootProc}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].pid]...)
	}
	return out
}

// credFile returns the credentials file a dump tool was pointed at.
func credFile(p proc) string {
	for _, kv := range bytes.Split(p.environ, []byte{0}) {
		if v, ok := strings.CutPrefix(string(kv), "PGPASSFILE="); ok {
			return v
		}
	}
	for _, a := range bytes.Split(p.cmdline, []byte{0}) {
		if v, ok := strings.CutPrefix(string(a), "--defaults-extra-file="); ok {
			return v
		}
	}
	return ""
}

// TestBackupSecretCanary: while a dump runs, the connection password is in
// no argv and no environment of the processes Jagad started, only in a 0600
// file that is gone afterwards; it never reaches log_output or the engine log.
func TestBackupSecretCanary(t *testing.T) {
	h := newHarness(t)
	h.addLocalProvider("local")
	h.setSetting("compression", "zstd")
	for _, tc := range []struct {
		name string
		srv  func(testing.TB) *dbtest.Server
		tool string
	}{
		{"postgresql", dbtest.Postgres, "pg_dump"},
		{"mariadb", dbtest.MariaDB, "mariadb-dump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv(t)
			pw := srv.Password
			if len(pw) < 8 {
				t.Fatalf("test server password %q is too weak a canary", pw)
			}
			conn := h.addConnection(tc.name, srv, "")
			db := h.addDatabase(conn, newFixture(t, srv).db)
			g := newGate(t)
			key, _ := dumpToolSetting(srv.DBType)
			h.setSetting(key, wrapTool(t, tc.tool, g.body()))
			t.Cleanup(func() { h.setSetting(key, "") })
			q := h.start(BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID})

			wrapperPID := g.pid(t)
			var procs []proc
			var tool proc
			deadline := time.Now().Add(20 * time.Second)
			for tool.pid == 0 && time.Now().Before(deadline) {
				procs = descendants(wrapperPID)
				for _, p := range procs {
					if p.comm == tc.tool {
						tool = p
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			if tool.pid == 0 {
				t.Fatalf("no %s process under the wrapper: %v", tc.tool, procs)
			}
			if procs[0].ppid != os.Getpid() {
				t.Errorf("the wrapper's parent is %d, not this process %d", procs[0].ppid, os.Getpid())
			}
			for _, p := range procs {
				for _, c := range canaries(pw) {
					if bytes.Contains(p.cmdline, []byte(c)) || bytes.Contains(p.environ, []byte(c)) {
						t.Errorf("password visible in /proc/%d (%s) cmdline or environ", p.pid, p.comm)
					}
				}
			}
			// The password reached the tool through a private file (removed
			// as soon as the tool has authenticated and writes output).
			cred := credFile(tool)
			if !strings.HasPrefix(filepath.Base(filepath.Dir(cred)), "jagad-cred-") {
				t.Fatalf("%s got no credentials file: %q", tc.tool, cred)
			}
			if fi, err := os.Stat(cred); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
			}

			g.open(t)
			b := h.waitBackup(q.ID, time.Minute)
			if b.Status != state.StatusSuccess {
				t.Fatalf("status %s; log:\n%s", b.Status, b.LogOutput)
			}
			if _, err := os.Stat(cred); !os.IsNotExist(err) {
				t.Errorf("credentials file still there after the dump: %v", err)
			}
			assertNoSecret(t, h, b, pw)

			// A refused login must not echo the password it tried.
			wrong := "Wr0ngCanaryPw9f3e7a1;x"
			bad := conn
			bad.ID, bad.Name, bad.Password = state.NewID(state.KindConnection), tc.name+"-wrong", state.Secret(wrong)
			put(h, bad)
			fb := h.runBackup(bad, h.addDatabase(bad, db.DBName), nil)
			if fb.Status != state.StatusFailed {
				t.Fatalf("wrong password: status %s", fb.Status)
			}
			assertNoSecret(t, h, fb, wrong)
		})
	}
}

// canaries are the password and its long alphanumeric runs (in case a tool
// escapes the punctuation).
func canaries(pw string) []string {
	out := []string{pw}
	for _, f := range strings.FieldsFunc(pw, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if len(f) >= 8 {
			out = append(out, f)
		}
	}
	return out
}

func assertNoSecret(t *testing.T, h *harness, b state.Backup, pw string) {
	t.Helper()
	for _, c := range canaries(pw) {
		if strings.Contains(b.LogOutput, c) {
			t.Errorf("log_output contains the password:\n%s", b.LogOutput)
		}
		if strings.Contains(h.logs.String(), c) {
			t.Error("engine log contains the password")
		}
	}
}
