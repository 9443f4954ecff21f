package reconcile

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// gitCommit returns the commit of the file when it sits in a git work tree
// ("<commit>-dirty" when modified there, "" when outside a work tree or not
// committed yet). Only answers that cannot change while the content stays the
// same are cached per digest: a clean commit, and "not in a work tree".
// A dirty or untracked file can be committed without its digest changing.
func (r *Reconciler) gitCommit(digest string) string {
	if r.notGitTree {
		return ""
	}
	if c, ok := r.gitCache[digest]; ok {
		return c
	}
	c, inTree := gitCommitOf(r.opts.Path)
	if !inTree {
		r.notGitTree = true
		return ""
	}
	if c != "" && !strings.HasSuffix(c, "-dirty") {
		if len(r.gitCache) > 64 {
			clear(r.gitCache)
		}
		r.gitCache[digest] = c
	}
	return c
}

// gitCommitOf returns the file's commit and whether its directory is in a
// git work tree at all.
func gitCommitOf(path string) (commit string, inTree bool) {
	if _, err := exec.LookPath("git"); err != nil {
		return "", false
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
	if out, err := run("rev-parse", "--is-inside-work-tree"); err != nil || out != "true" {
		return "", false
	}
	commit, err := run("log", "-1", "--format=%H", "--", base)
	if err != nil || commit == "" {
		return "", true
	}
	if dirty, err := run("status", "--porcelain", "--", base); err != nil || dirty != "" {
		return commit + "-dirty", true
	}
	return commit, true
}
