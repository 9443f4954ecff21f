package dump

import (
	"os"
	"path/filepath"
	"testing"
)

// Debian's pg_wrapper links are resolved to the newest installed version's
// program (numerically: 15 after 9.6), anything else is left as it is.
func TestUnwrapPg(t *testing.T) {
	root := t.TempDir()
	lib := filepath.Join(root, "lib")
	bin := filepath.Join(root, "bin")
	exe := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrapper := filepath.Join(root, "share", "pg_wrapper")
	exe(wrapper)
	exe(filepath.Join(lib, "9.6", "bin", "pg_dump"))
	exe(filepath.Join(lib, "15", "bin", "pg_dump"))
	exe(filepath.Join(lib, "13", "bin", "pg_dump"))
	exe(filepath.Join(lib, "16", "bin", "pg_restore")) // 16 has no pg_dump
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"pg_dump", "pg_restore", "pg_basebackup"} {
		if err := os.Symlink(wrapper, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	plain := filepath.Join(root, "opt", "pg_dump")
	exe(plain)

	for _, c := range []struct{ in, want string }{
		{filepath.Join(bin, "pg_dump"), filepath.Join(lib, "15", "bin", "pg_dump")},
		{filepath.Join(bin, "pg_restore"), filepath.Join(lib, "16", "bin", "pg_restore")},
		{filepath.Join(bin, "pg_basebackup"), filepath.Join(bin, "pg_basebackup")}, // no version has it: the wrapper stays
		{plain, plain},
		{filepath.Join(root, "missing"), filepath.Join(root, "missing")},
	} {
		if got := unwrapPgIn(lib, c.in); got != c.want {
			t.Errorf("unwrapPgIn(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
