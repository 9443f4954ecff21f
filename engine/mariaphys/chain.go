package mariaphys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Link is one backup of a chain, oldest (the full) first.
type Link struct {
	ID          string
	Incremental bool
	FromLSN     uint64
	ToLSN       uint64
	// Size is the xbstream's size (the record's size_bytes): extraction
	// needs about as much disk.
	Size int64
	// Check reads the whole stored object through every check (size,
	// checksums, decryption) without writing anything.
	Check func(ctx context.Context) error
	// Open returns the decrypted, decompressed xbstream; its Read returns
	// an error at the end when a check fails, and Close releases it.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Name is how messages name a link: its position and backup ID.
func (l Link) name(i int) string {
	kind := "full"
	if l.Incremental {
		kind = "incremental"
	}
	return fmt.Sprintf("link %d (%s %s)", i+1, kind, l.ID)
}

// RestoreOptions configures a chain restore.
type RestoreOptions struct {
	// TargetDir is the new data directory: it must not exist, or be empty.
	TargetDir string
	// WorkDir holds the extracted links while they are prepared ("" = the
	// system temp dir); removed afterwards.
	WorkDir string
	// Tool is mariadb-backup's path ("" = PATH); Mbstream likewise.
	Tool, Mbstream string
	// Owner, when set and this process is root, owns the restored files
	// (the user mariadbd runs as, normally "mysql").
	Owner string
	// Log receives progress lines.
	Log io.Writer
	// FreeSpace reports the free bytes of the file system of path (nil =
	// statfs); tests replace it.
	FreeSpace func(path string) (int64, error)
}

// CheckContinuity checks that links form one chain: a full first, then
// incrementals each starting at the LSN its parent ended at.
func CheckContinuity(links []Link) error {
	if len(links) == 0 {
		return errors.New("empty chain")
	}
	if links[0].Incremental {
		return fmt.Errorf("%s: a chain must start with a full physical backup", links[0].name(0))
	}
	for i := 1; i < len(links); i++ {
		l, p := links[i], links[i-1]
		if !l.Incremental {
			return fmt.Errorf("%s: a full in the middle of a chain", l.name(i))
		}
		if l.FromLSN != p.ToLSN {
			return fmt.Errorf("%s starts at LSN %d but %s ends at LSN %d: the chain is broken", l.name(i), l.FromLSN, p.name(i-1), p.ToLSN)
		}
	}
	return nil
}

// Restore restores a chain into o.TargetDir. Every link is checked before
// anything is extracted; TargetDir is only written by the final copy-back,
// after every link was extracted and applied.
func Restore(ctx context.Context, links []Link, o RestoreOptions) error {
	if err := CheckContinuity(links); err != nil {
		return err
	}
	if !filepath.IsAbs(o.TargetDir) {
		return fmt.Errorf("target_dir must be an absolute path, got %q", o.TargetDir)
	}
	if err := checkEmptyTarget(o.TargetDir); err != nil {
		return err
	}
	for i, l := range links {
		logf(o.Log, "CHAIN: checking %s", l.name(i))
		if err := l.Check(ctx); err != nil {
			return fmt.Errorf("%s failed its check, nothing was written: %w", l.name(i), err)
		}
	}
	tool, err := findBinary(o.Tool, "mariadb-backup", "mariabackup")
	if err != nil {
		return err
	}
	mbstream, err := findBinary(o.Mbstream, "mbstream")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(o.WorkDir, "jagad-chain-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()
	if err := checkSpace(o, work, links); err != nil {
		return err
	}
	dirs := make([]string, len(links))
	for i, l := range links {
		dirs[i] = filepath.Join(work, strconv.Itoa(i))
		if err := os.Mkdir(dirs[i], 0o700); err != nil {
			return err
		}
		logf(o.Log, "CHAIN: extracting %s", l.name(i))
		if err := extract(ctx, mbstream, l, dirs[i]); err != nil {
			return fmt.Errorf("%s: %w", l.name(i), err)
		}
	}
	logf(o.Log, "CHAIN: preparing the full %s", links[0].ID)
	if err := runTool(ctx, tool, "--no-defaults", "--prepare", "--target-dir="+dirs[0]); err != nil {
		return fmt.Errorf("prepare %s: %w", links[0].name(0), err)
	}
	for i := 1; i < len(links); i++ {
		logf(o.Log, "CHAIN: applying %s", links[i].name(i))
		if err := runTool(ctx, tool, "--no-defaults", "--prepare", "--target-dir="+dirs[0], "--incremental-dir="+dirs[i]); err != nil {
			return fmt.Errorf("apply %s: %w", links[i].name(i), err)
		}
	}
	logf(o.Log, "CHAIN: moving the prepared data into %s", o.TargetDir)
	if err := os.MkdirAll(o.TargetDir, 0o750); err != nil {
		return err
	}
	if err := runTool(ctx, tool, "--no-defaults", "--move-back", "--target-dir="+dirs[0], "--datadir="+o.TargetDir); err != nil {
		return fmt.Errorf("move-back into %s: %w", o.TargetDir, err)
	}
	if o.Owner != "" && os.Geteuid() == 0 {
		if err := ChownTree(o.TargetDir, o.Owner); err != nil {
			return err
		}
	}
	logf(o.Log, "CHAIN: restored %d links into %s", len(links), o.TargetDir)
	return nil
}

// checkEmptyTarget accepts a missing or empty directory.
func checkEmptyTarget(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("target_dir %s: %w", dir, err)
	case len(ents) > 0:
		return fmt.Errorf("target_dir %s is not empty: a chain is restored into a new data directory", dir)
	}
	return nil
}

// checkSpace compares what extraction (every link) and the move-back (on
// another file system: about the full's size) need with the free space.
func checkSpace(o RestoreOptions, work string, links []Link) error {
	free := o.FreeSpace
	if free == nil {
		free = statfsFree
	}
	var need int64
	for _, l := range links {
		need += l.Size
	}
	need += need / 10 // prepare writes logs and grows the base a little
	have, err := free(work)
	if err != nil {
		return fmt.Errorf("free space of %s: %w", work, err)
	}
	if have < need {
		return fmt.Errorf("not enough free space to extract the chain in %s: need about %s, %s free (set a work directory with more room)",
			filepath.Dir(work), human(need), human(have))
	}
	parent := existingParent(o.TargetDir)
	if sameFS(parent, work) {
		return nil // move-back renames within the file system
	}
	have, err = free(parent)
	if err != nil {
		return fmt.Errorf("free space of %s: %w", parent, err)
	}
	if base := links[0].Size; have < base {
		return fmt.Errorf("not enough free space for the restored data directory in %s: need about %s, %s free",
			parent, human(base), human(have))
	}
	return nil
}

func existingParent(p string) string {
	for {
		if _, err := os.Stat(p); err == nil || p == "/" {
			return p
		}
		p = filepath.Dir(p)
	}
}

func sameFS(a, b string) bool {
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev
}

func statfsFree(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// extract streams one link into mbstream -x in dir. The link's reader
// reports a failed check as a read error at the end; mbstream is then
// killed and the link refused.
func extract(ctx context.Context, mbstream string, l Link, dir string) error {
	r, err := l.Open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, mbstream, "-x", "-C", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &limited{b: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mbstream: %w", err)
	}
	_, copyErr := io.CopyBuffer(stdin, r, make([]byte, 256<<10))
	if copyErr != nil {
		cancel()
	}
	_ = stdin.Close()
	waitErr := cmd.Wait()
	switch {
	case copyErr != nil:
		return fmt.Errorf("read: %w", copyErr)
	case waitErr != nil:
		return fmt.Errorf("mbstream -x: %w: %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// runTool runs mariadb-backup, returning the tail of its output on failure.
func runTool(ctx context.Context, tool string, args ...string) error {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(tool), err, tail(string(out), 1500))
	}
	return nil
}

type limited struct {
	b *strings.Builder
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		_, _ = fmt.Fprintf(w, format+"\n", args...)
	}
}
