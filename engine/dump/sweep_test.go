package dump

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSweepStaleCredentials: dirs of dead processes go, dirs of live ones
// (this process) stay, other names are untouched.
func TestSweepStaleCredentials(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name string) string {
		dir := filepath.Join(os.TempDir(), name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pgpass"), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		return dir
	}
	stale := mk(credPrefix + strconv.Itoa(dead.Process.Pid) + "-sweeptest")
	live := mk(credPrefix + strconv.Itoa(os.Getpid()) + "-sweeptest")
	other := mk("jagad-credential-notours-sweeptest")

	n, err := SweepStaleCredentials()
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if n < 1 {
		t.Fatalf("removed %d dirs, want at least the stale one", n)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale credentials dir still there: %v", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}

// TestCredentialsDirNamesOwner: the dirs the tools get carry our PID.
func TestCredentialsDirNamesOwner(t *testing.T) {
	dir, _, err := writeSecretFile("pgpass", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if pid, ok := credOwner(filepath.Base(dir)); !ok || pid != os.Getpid() {
		t.Fatalf("dir %s: owner %d %v, want %d", dir, pid, ok, os.Getpid())
	}
}
