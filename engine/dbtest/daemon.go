package dbtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serviceCred returns the credential to run a server as user name when the
// test process is root (PostgreSQL and MariaDB refuse to run as root), or
// nil when the process is not root.
func serviceCred(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root needs the %q system user: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chown gives path to cred's user (no-op when cred is nil).
func chown(cred *syscall.Credential, paths ...string) error {
	if cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	return nil
}

// runAs runs a setup command as cred's user and returns its combined output
// in the error on failure.
func runAs(cred *syscall.Credential, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, tail(string(out), 2000))
	}
	return nil
}

// freePort asks the kernel for an unused TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// password returns a random password with characters that need quoting in
// pgpass files, option files, SQL and URLs.
func password() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "Jg pw:" + hex.EncodeToString(b) + `\'"#;$`
}

// daemon is a server process started for the test process. It receives
// stopSig when the test process dies (Pdeathsig), so it never outlives it.
type daemon struct {
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
	stopSig syscall.Signal
}

func startDaemon(cred *syscall.Credential, stopSig syscall.Signal, logPath, name string, args ...string) (*daemon, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = os.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: stopSig}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{}), logPath: logPath, stopSig: stopSig}
	go func() { _ = cmd.Wait(); close(d.done) }()
	return d, nil
}

// waitReady polls probe until it succeeds, the process exits or timeout.
func (d *daemon) waitReady(timeout time.Duration, probe func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return fmt.Errorf("server exited during startup: %s", d.logTail())
		default:
		}
		if last = probe(); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not ready after %s: %v; log: %s", timeout, last, d.logTail())
}

// stop asks the server to shut down and kills it after 10 s.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(d.stopSig)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemon) logTail() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return err.Error()
	}
	return tail(string(b), 2000)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// errNoBinary marks a missing server installation.
var errNoBinary = errors.New("server binary not found")

// findBinary returns the first existing candidate path or PATH entry.
func findBinary(candidates ...string) (string, error) {
	for _, c := range candidates {
		if strings.ContainsRune(c, '/') {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: tried %s", errNoBinary, strings.Join(candidates, ", "))
}

// tempDir creates the server's temp dir, recording the owning test process,
// after removing dirs left by test processes that died without calling Main
// (their servers stopped with them through Pdeathsig).
func tempDir(prefix string) (string, error) {
	sweepStale(prefix)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func sweepStale(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue // not ours, or being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}
