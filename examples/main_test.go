package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The jagad binary, built once per test run from ../cmd/jagad (the unit's
// ExecStart and `jagad validate` of the example files need it).
var jagad struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if jagad.dir != "" {
		os.RemoveAll(jagad.dir)
	}
	os.Exit(code)
}

func buildJagad(t *testing.T) string {
	t.Helper()
	jagad.once.Do(func() {
		if jagad.dir, jagad.err = os.MkdirTemp("", "jagad-examples-"); jagad.err != nil {
			return
		}
		jagad.path = filepath.Join(jagad.dir, "jagad")
		cmd := exec.Command("go", "build", "-o", jagad.path, "./cmd/jagad")
		cmd.Dir = ".."
		jagad.out, jagad.err = cmd.CombinedOutput()
	})
	if jagad.err != nil {
		t.Fatalf("go build ./cmd/jagad: %v\n%s", jagad.err, jagad.out)
	}
	return jagad.path
}
