package pgphys

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tarOf(t *testing.T, entries map[string]string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// Extract writes inside the directory only; a name escaping it fails.
func TestExtract(t *testing.T) {
	dir := t.TempDir()
	n, err := Extract(tarOf(t, map[string]string{"PG_VERSION": "15\n", "global/pg_control": "x"}), dir)
	if err != nil || n != 2 {
		t.Fatalf("extract: %d files, %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "global/pg_control")); string(b) != "x" {
		t.Fatalf("global/pg_control = %q", b)
	}
	evil := t.TempDir()
	if _, err := Extract(tarOf(t, map[string]string{"../outside": "x"}), evil); err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("escaping entry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(evil), "outside")); !os.IsNotExist(err) {
		t.Fatal("an escaping entry was written")
	}
}

// PrepareDir takes a missing or empty directory and refuses anything else.
func TestPrepareDir(t *testing.T) {
	base := t.TempDir()
	if _, err := PrepareDir("relative/dir"); err == nil {
		t.Error("relative target_dir accepted")
	}
	full := filepath.Join(base, "full")
	if err := os.MkdirAll(full, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "PG_VERSION"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareDir(full); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty target_dir: %v", err)
	}
	fresh := filepath.Join(base, "a", "fresh")
	undo, err := PrepareDir(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("created dir: %v %v", st, err)
	}
	undo()
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Error("undo left the created directory")
	}
}

// WriteRecovery appends the settings and writes recovery.signal; a
// target_dir that would break restore_command's quoting is refused.
func TestWriteRecovery(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "postgresql.auto.conf"), []byte("work_mem = '4MB'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 14, 37, 0, 123000000, time.UTC)
	if err := WriteRecovery(dir, Target{Time: &at}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "postgresql.auto.conf"))
	for _, want := range []string{"work_mem = '4MB'", `restore_command = 'cp "` + dir + `/jagad_restore_wal/%f" "%p"'`,
		"recovery_target_time = '2026-01-01 14:37:00.123+00'", "recovery_target_action = 'promote'"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("postgresql.auto.conf lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "recovery.signal")); err != nil {
		t.Error(err)
	}
	if err := WriteRecovery(filepath.Join(t.TempDir(), `it's`), Target{}); err == nil {
		t.Error("a quote in target_dir accepted")
	}
}
