// Package pgphys handles PostgreSQL physical restores on the daemon's host:
// unpacking a base backup's tar into a new data directory, writing the
// recovery settings of a point-in-time restore, and starting a throwaway
// postgres on a restored directory to check it.
package pgphys

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PrepareDir checks that dir can receive a restore: an absolute path that
// does not exist yet or is an empty directory. It creates it (0700) and
// returns a func that removes what it created (or empties a directory that
// existed), for a restore that fails.
func PrepareDir(dir string) (undo func(), err error) {
	if dir == "" || !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("target_dir must be an absolute path, got %q", dir)
	}
	dir = filepath.Clean(dir)
	if dir == "/" {
		return nil, errors.New("target_dir must not be /")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("target_dir: %w", err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fmt.Errorf("target_dir: %w", err)
		}
		return func() { _ = os.RemoveAll(dir) }, nil
	case err != nil:
		return nil, fmt.Errorf("target_dir: %w", err)
	case len(entries) > 0:
		return nil, fmt.Errorf("target_dir %s is not empty: a physical restore writes a new data directory and never overwrites one", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("target_dir: %w", err)
	}
	return func() { emptyDir(dir) }, nil
}

func emptyDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// Extract unpacks a pg_basebackup tar into dir (which PrepareDir made).
// Only regular files, directories and symlinks inside dir are accepted; a
// name that would escape dir fails the restore. It returns the number of
// files written.
func Extract(r io.Reader, dir string) (int, error) {
	tr := tar.NewReader(r)
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return files, fmt.Errorf("read tar: %w", err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == "." {
			continue
		}
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return files, fmt.Errorf("tar entry %q escapes the data directory", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o700); err != nil {
				return files, err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return files, err
			}
			if err := writeFile(path, tr, h.FileInfo().Mode().Perm()&0o700|0o600); err != nil {
				return files, err
			}
			files++
		case tar.TypeSymlink:
			target := h.Linkname
			if filepath.IsAbs(target) {
				return files, fmt.Errorf("tar entry %q links outside the data directory (tablespaces are not supported)", h.Name)
			}
			if err := os.Symlink(target, path); err != nil {
				return files, err
			}
		default:
			return files, fmt.Errorf("tar entry %q has unsupported type %q", h.Name, string(h.Typeflag))
		}
	}
}

func writeFile(path string, r io.Reader, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// Chown gives dir and everything below it to uid:gid (a restore run as
// root hands the directory to the postgres user).
func Chown(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
