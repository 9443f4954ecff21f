package dump

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// credPrefix starts the name of every private credentials dir, followed by
// the PID of the process that made it: jagad-cred-<pid>-<random>.
const credPrefix = "jagad-cred-"

// SweepStaleCredentials removes the credentials dirs in the temp dir whose
// creating process is gone — left by a daemon killed while a tool ran. Dirs
// of live processes (another daemon on the host) are left alone. It returns
// how many it removed.
func SweepStaleCredentials() (int, error) {
	tmp := os.TempDir()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		pid, ok := credOwner(e.Name())
		if !ok || !e.IsDir() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// credOwner parses the PID out of a credentials dir name.
func credOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, credPrefix)
	if !ok {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}

// processAlive reports whether a process with pid exists (a reused PID
// counts as alive: the dir is then kept, the safe side).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
