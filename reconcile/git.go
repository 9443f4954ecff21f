package reconcile

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// gitCommit returns the commit of the file when it sits in a git work tree
// and is unmodified there ("" otherwise). Results are cached per digest.
func (r *Reconciler) gitCommit(digest string) string {
	if c, ok := r.gitCache[digest]; ok {
		return c
	}
	c := gitCommitOf(r.opts.Path)
	if len(r.gitCache) > 64 {
		clear(r.gitCache)
	}
	r.gitCache[digest] = c
	return c
}

func gitCommitOf(path string) string {
	if _, err := exec.LookPath("git"); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	commit, err := run("log", "-1", "--format=%H", "--", base)
	if err != nil || commit == "" {
		return ""
	}
	if dirty, err := run("status", "--porcelain", "--", base); err != nil || dirty != "" {
		return commit + "-dirty"
	}
	return commit
}
