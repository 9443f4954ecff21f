package api

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"

	"github.com/jagad/jagad/state/logbuf"
)

func storedAdmin(tb testing.TB, st *state.Store) state.AdminUser {
	tb.Helper()
	var admin state.AdminUser
	if err := st.View(func(tx *state.Tx) (err error) { admin, err = tx.Admin(); return }); err != nil {
		tb.Fatalf("read admin: %v", err)
	}
	return admin
}

// TestSeedAdminGeneratedPasswordGoesToFile: without JAGAD_ADMIN_PASS the
// generated password is written once to a 0600 file, matches the stored
// hash, and appears in no log line (text or JSON); the log names the file.
// A second start neither rewrites the file nor logs it again.
func TestSeedAdminGeneratedPasswordGoesToFile(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	defer st.Close()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	pwFile := filepath.Join(dir, AdminPasswordFile)
	seed := AdminSeed{PasswordFile: pwFile}
	if err := SeedAdmin(st, seed, log); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(pwFile)
	if err != nil {
		t.Fatalf("no password file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("password file mode %o, want 600", mode)
	}
	b, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	pass := strings.TrimSuffix(string(b), "\n")
	if len(pass) < 16 || strings.ContainsAny(pass, " \n") {
		t.Fatalf("implausible generated password %q", pass)
	}
	if ok, _ := checkPassword(storedAdmin(t, st).PasswordHash, pass); !ok {
		t.Error("the file's password does not match the stored hash")
	}
	if strings.Contains(logs.String(), pass) {
		t.Errorf("the generated password is in the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"path":"`+pwFile+`"`) {
		t.Errorf("the log does not name the password file:\n%s", logs)
	}

	before := fi.ModTime()
	time.Sleep(10 * time.Millisecond)
	if err := SeedAdmin(st, seed, log); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(pwFile); err != nil || !fi.ModTime().Equal(before) {
		t.Errorf("second start touched the password file: %v", err)
	}
	if n := strings.Count(logs.String(), AdminPasswordFile); n != 1 {
		t.Errorf("password file announced %d times, want 1:\n%s", n, logs)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "."+AdminPasswordFile+".*")); len(entries) > 0 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestSeedAdminReplacesSymlinkNotTarget: the password file is created anew,
// never written through an existing file or symlink at its path.
func TestSeedAdminReplacesSymlinkNotTarget(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	defer st.Close()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, AdminPasswordFile)
	if err := os.Symlink(target, pwFile); err != nil {
		t.Fatal(err)
	}
	if err := SeedAdmin(st, AdminSeed{PasswordFile: pwFile}, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("wrote through the symlink: target now %q", b)
	}
	if fi, err := os.Lstat(pwFile); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file is not a fresh 0600 regular file: %v %v", fi, err)
	}
}

// TestSeedAdminIgnoredPassWarns: JAGAD_ADMIN_PASS on a data dir whose admin
// exists does not change the password; a different one is reported at WARN
// (with the reason and the way out, never the value), the same one is not.
func TestSeedAdminIgnoredPassWarns(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	defer st.Close()
	if err := SeedAdmin(st, AdminSeed{Pass: "first-secret"}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pass string
		wantWarn   bool
	}{
		{"same password", "first-secret", false},
		{"unset", "", false},
		{"other password", "second-secret", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			if err := SeedAdmin(st, AdminSeed{Pass: c.pass, PasswordFile: filepath.Join(dir, AdminPasswordFile)}, log); err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "JAGAD_ADMIN_PASS is ignored") &&
				strings.Contains(logs.String(), "reset-password")
			if warned != c.wantWarn {
				t.Errorf("warned %v, want %v:\n%s", warned, c.wantWarn, logs)
			}
			if c.pass != "" && strings.Contains(logs.String(), c.pass) {
				t.Errorf("password in the log:\n%s", logs)
			}
			if ok, _ := checkPassword(storedAdmin(t, st).PasswordHash, "first-secret"); !ok {
				t.Error("the stored password changed")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, AdminPasswordFile)); !os.IsNotExist(err) {
		t.Errorf("a password file was written for an existing account: %v", err)
	}
}

// TestResetAdminPassword: the new password logs in, the old one does not,
// the user name is kept and the session made before is gone.
func TestResetAdminPassword(t *testing.T) {
	e := newEnv(t)
	e.call("GET", "/api/auth/check", nil, http.StatusOK)
	if _, err := ResetAdminPassword(e.store, "short", time.Now()); err == nil {
		t.Error("a 5-character password was accepted")
	}
	user, err := ResetAdminPassword(e.store, "brand-new-password", time.Now())
	if err != nil || user != testUser {
		t.Fatalf("reset: %q %v", user, err)
	}
	e.call("GET", "/api/auth/check", nil, http.StatusUnauthorized)
	if w := e.send(loginReq(testUser, testPass, "192.0.2.7:1")); w.Code != http.StatusUnauthorized {
		t.Errorf("old password: status %d, want 401", w.Code)
	}
	e.login(testUser, "brand-new-password", "192.0.2.8:1")
}
