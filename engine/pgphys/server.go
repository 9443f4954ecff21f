package pgphys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Owner is the system user a restored data directory belongs to and a
// throwaway server runs as: the daemon's own user, or "postgres" when the
// daemon runs as root (postgres refuses to run as root).
type Owner struct {
	Cred *syscall.Credential // nil: this process's user
}

// OwnerFor returns the owner for this process.
func OwnerFor() (Owner, error) {
	if os.Geteuid() != 0 {
		return Owner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return Owner{}, fmt.Errorf("the daemon runs as root and a restored data directory must belong to the postgres system user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return Owner{}, err
	}
	return Owner{Cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

// Give hands paths (recursively) to the owner.
func (o Owner) Give(paths ...string) error {
	if o.Cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := Chown(p, int(o.Cred.Uid), int(o.Cred.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
	}
	return nil
}

// Server is a throwaway postgres started on a restored data directory. It
// listens only on a unix socket in a private directory, with an hba file
// of its own that trusts local connections, so the check depends neither on
// the restored cluster's passwords nor on its pg_hba.conf, and nothing
// outside this host can reach it. Archiving is off: the copy must never
// write into the source's WAL archive. hot_standby is off: the server
// answers only once recovery has finished (and does not compare its
// max_connections & co. with the primary's, which a standby must).
type Server struct {
	SocketDir string
	Port      int
	cmd       *exec.Cmd
	done      chan struct{}
	runDir    string
	logPath   string
}

// Start starts postgres (the binary at bin) on dataDir as owner.
func Start(bin, dataDir string, owner Owner) (*Server, error) {
	run, err := os.MkdirTemp("", "jagad-pgcheck-")
	if err != nil {
		return nil, err
	}
	hba := filepath.Join(run, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all trust\nlocal replication all trust\n"), 0o600); err != nil {
		_ = os.RemoveAll(run)
		return nil, err
	}
	if err := owner.Give(run); err != nil {
		_ = os.RemoveAll(run)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(run)
		return nil, err
	}
	s := &Server{SocketDir: run, Port: port, runDir: run, logPath: filepath.Join(run, "postgres.log"), done: make(chan struct{})}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		_ = os.RemoveAll(run)
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "-D", dataDir, "-p", strconv.Itoa(port), "-k", run,
		"-c", "listen_addresses=", "-c", "hba_file="+hba, "-c", "archive_mode=off",
		"-c", "max_wal_senders=0", "-c", "max_replication_slots=0", "-c", "wal_level=replica",
		"-c", "hot_standby=off", "-c", "logging_collector=off")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Dir = run
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C"}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner.Cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(run)
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	return s, nil
}

// Exited reports whether the server has stopped.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// WaitReady polls probe until it succeeds, the server exits or ctx ends.
func (s *Server) WaitReady(ctx context.Context, probe func(context.Context) error) error {
	var last error
	for {
		if s.Exited() {
			return fmt.Errorf("postgres exited during startup: %s", s.LogTail(1500))
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = probe(pctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %v; log: %s", last, s.LogTail(1500))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 30 s) and
// removes its socket directory.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	_ = os.RemoveAll(s.runDir)
}

// LogTail is the end of the server's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
