package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Local stores objects as files under a root directory. Put writes a temp
// file beside the target, fsyncs it, renames it into place and fsyncs the
// directory.
type Local struct {
	root string

	mu       sync.Mutex
	inFlight map[string]struct{} // temp file paths of running Puts

	createTemp func(dir, pattern string) (tempFile, error) // os.CreateTemp; replaced in tests
}

// tempFile is what Put needs from *os.File.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
	Stat() (os.FileInfo, error)
}

// NewLocal returns a Local store rooted at the absolute directory root.
func NewLocal(root string) *Local {
	return &Local{
		root:     filepath.Clean(root),
		inFlight: map[string]struct{}{},
		createTemp: func(dir, pattern string) (tempFile, error) {
			return os.CreateTemp(dir, pattern)
		},
	}
}

func (l *Local) String() string { return "local:" + l.root }

// path maps a key onto a file path under the root.
func (l *Local) path(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	p := filepath.Join(l.root, filepath.FromSlash(key))
	if !strings.HasPrefix(p, l.root+string(filepath.Separator)) {
		return "", fmt.Errorf("key %q: escapes the storage root", key)
	}
	return p, nil
}

// isTempName reports whether name is a Put's temp file ".<name>.tmp-<random>".
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.LastIndex(name, ".tmp-") >= 2
}

// tempTarget returns the key a temp file ".<name>.tmp-<random>" was written for.
func tempTarget(key, name string) (string, bool) {
	if !isTempName(name) {
		return "", false
	}
	return key[:len(key)-len(name)] + name[1:strings.LastIndex(name, ".tmp-")], true
}

// Get opens the file for key.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, l.fsErr("get", key, err)
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		_ = f.Close()
		if err == nil {
			err = fs.ErrNotExist
		}
		return nil, l.fsErr("get", key, err)
	}
	return f, nil
}

// Stat describes the file for key.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(p)
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return Info{}, l.fsErr("stat", key, err)
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the file for key; a missing file is not an error.
func (l *Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l.fsErr("delete", key, err)
	}
	return nil
}

// List walks the directory of prefix and returns matching files, sorted by key.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	err := l.walk(ctx, prefix, func(key string, d fs.DirEntry) error {
		if isTempName(d.Name()) || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// walk calls fn for every regular file in the directory of prefix and below;
// fn filters by prefix.
func (l *Local) walk(ctx context.Context, prefix string, fn func(key string, d fs.DirEntry) error) error {
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	dir := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i]
	}
	start := filepath.Join(l.root, filepath.FromSlash(dir))
	// WalkDir does not descend into a symlinked start (e.g. a root that links
	// to a mount): walk its target instead.
	if real, err := filepath.EvalSymlinks(start); err == nil {
		start = real
	}
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(start, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if dir != "" {
			key = dir + "/" + key
		}
		return fn(key, d)
	})
}

// Incomplete lists the keys of interrupted Puts whose temp files remain under prefix.
func (l *Local) Incomplete(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := l.walk(ctx, prefix, func(key string, d fs.DirEntry) error {
		if target, ok := tempTarget(key, d.Name()); ok && strings.HasPrefix(target, prefix) {
			out = append(out, target) // the key the interrupted Put was writing, as S3 reports
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local incomplete %q: %w", prefix, err)
	}
	return out, nil
}

// Cleanup removes temp files under prefix except those of running Puts.
func (l *Local) Cleanup(ctx context.Context, prefix string) error {
	err := l.walk(ctx, prefix, func(key string, d fs.DirEntry) error {
		if target, ok := tempTarget(key, d.Name()); !ok || !strings.HasPrefix(target, prefix) {
			return nil
		}
		p := filepath.Join(l.root, filepath.FromSlash(key))
		l.mu.Lock()
		_, running := l.inFlight[p]
		l.mu.Unlock()
		if running {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("local cleanup %q: %w", prefix, err)
	}
	return nil
}

// fsErr translates filesystem errors at the boundary.
func (l *Local) fsErr(op, key string, err error) error {
	switch {
	case op != "put" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir)):
		return fmt.Errorf("local %s %q: %w", op, key, ErrNotFound)
	case errors.Is(err, errNoSpace):
		return fmt.Errorf("local %s %q: %w (disk full under %s): %w", op, key, ErrNoSpace, l.root, err)
	default:
		return fmt.Errorf("local %s %q: %w", op, key, err)
	}
}
