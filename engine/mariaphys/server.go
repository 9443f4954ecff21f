// Package mariaphys restores MariaDB/MySQL physical backup chains made by
// mariadb-backup (engine/dump.Physical) and starts throwaway mariadbd
// servers on restored data directories to check them (drills).
//
// A chain is a full (backup_type physical) and the incrementals that follow
// it, each starting at the LSN its parent ended at. Restore checks every
// link before writing anything, extracts each with mbstream into a work
// directory (free space checked first), prepares the base, applies each
// incremental in order and copies the result into a new data directory.
package mariaphys

import (
	"context"
	"database/sql"
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

	"github.com/go-sql-driver/mysql"
)

// ServerOptions configures a throwaway mariadbd.
type ServerOptions struct {
	Datadir string
	// Binary is mariadbd's path; "" looks up mariadbd, then mysqld, in PATH
	// and /usr/sbin.
	Binary string
	// Port, when not 0, listens on 127.0.0.1:Port too; 0 = socket only.
	Port int
	// SkipGrants starts the server without privilege checks: for reading a
	// restored copy whose accounts are unknown. It is reachable only
	// through a socket in a private directory then (Port must be 0).
	SkipGrants bool
	// LogBin writes binary logs (mysql-bin.*) into the data directory.
	LogBin bool
}

// Server is a running throwaway mariadbd.
type Server struct {
	Datadir string
	Socket  string
	Port    int
	dir     string // private runtime dir (socket, pid, log, tmp)
	cmd     *exec.Cmd
	done    chan struct{}
	log     string
}

// StartServer starts mariadbd on o.Datadir and waits until it answers.
// When this process is root the server runs as the mysql user, which must
// own the data directory (ChownTree).
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.SkipGrants && o.Port != 0 {
		return nil, errors.New("a server without privilege checks must not listen on TCP")
	}
	bin, err := findBinary(o.Binary, "mariadbd", "mysqld")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "jagad-mariadbd-")
	if err != nil {
		return nil, err
	}
	s := &Server{Datadir: o.Datadir, Socket: filepath.Join(dir, "s.sock"), Port: o.Port, dir: dir, done: make(chan struct{}),
		log: filepath.Join(dir, "mariadbd.log")}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		s.cleanup()
		return nil, err
	}
	asRoot := os.Geteuid() == 0
	if asRoot {
		if err := ChownTree(dir, "mysql"); err != nil {
			s.cleanup()
			return nil, err
		}
	}
	// A private tmpdir matters: at start mariadbd deletes #sql* files in its
	// tmpdir, which in /tmp could be another server's live temp tables.
	args := []string{"--no-defaults", "--datadir=" + o.Datadir, "--tmpdir=" + tmp, "--socket=" + s.Socket,
		"--pid-file=" + filepath.Join(dir, "m.pid"), "--log-error=" + s.log,
		"--innodb-buffer-pool-size=64M", "--skip-name-resolve"}
	if o.LogBin {
		args = append(args, "--log-bin="+filepath.Join(o.Datadir, "mysql-bin"), "--server-id=1", "--binlog-format=ROW")
	} else {
		args = append(args, "--skip-log-bin")
	}
	if o.Port != 0 {
		args = append(args, "--bind-address=127.0.0.1", "--port="+strconv.Itoa(o.Port))
	} else {
		args = append(args, "--skip-networking")
	}
	if o.SkipGrants {
		args = append(args, "--skip-grant-tables")
	}
	if asRoot {
		args = append(args, "--user=mysql")
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("start mariadbd: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// DB opens a connection pool to the server over its socket as user.
func (s *Server) DB(userName, password, db string) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = userName, password, "unix", s.Socket, db
	cfg.Timeout = 5 * time.Second
	c, _ := mysql.NewConnector(cfg) // only fails for an invalid config
	return sql.OpenDB(c)
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	db := s.DB("root", "", "")
	defer db.Close()
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("mariadbd exited during startup: %s", s.logTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if _, err := os.Stat(s.Socket); err == nil {
			// Any answer (even access denied) means the server is up.
			err = db.PingContext(ctx)
			var me *mysql.MySQLError
			if err == nil || errors.As(err, &me) {
				return nil
			}
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("mariadbd did not answer within %s: %v; %s", timeout, last, s.logTail())
}

// Stop shuts the server down (SIGTERM, then SIGKILL after a minute) and
// removes its runtime directory; the data directory stays.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	s.cleanup()
}

func (s *Server) cleanup() { _ = os.RemoveAll(s.dir) }

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	return tail(string(b), 1500)
}

// findBinary resolves an override path or the first of names found in
// PATH or /usr/sbin.
func findBinary(override string, names ...string) (string, error) {
	if override != "" {
		return exec.LookPath(override)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		if p := filepath.Join("/usr/sbin", n); isExec(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/sbin", strings.Join(names, " or "))
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// ChownTree gives dir and everything under it to the named user and its
// primary group.
func ChownTree(dir, userName string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return fmt.Errorf("user %q: %w", userName, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// InitDatadir creates a new, empty data directory with mariadb-install-db
// (root@localhost without a password, socket only): for tests and for
// servers made from scratch.
func InitDatadir(ctx context.Context, dir string) error {
	bin, err := findBinary("", "mariadb-install-db", "mysql_install_db")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	args := []string{"--no-defaults", "--datadir=" + dir, "--auth-root-authentication-method=normal", "--skip-test-db"}
	if os.Geteuid() == 0 {
		if err := ChownTree(dir, "mysql"); err != nil {
			return err
		}
		args = append(args, "--user=mysql")
	}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %w: %s", err, tail(string(out), 1500))
	}
	return nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// CountRows counts the rows of every base table of database db.
func CountRows(ctx context.Context, s *Server, db string) (map[string]int64, error) {
	pool := s.DB("root", "", "")
	defer pool.Close()
	rows, err := pool.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", db)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", db, err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(names))
	for _, n := range names {
		var c int64
		q := "SELECT COUNT(*) FROM `" + strings.ReplaceAll(db, "`", "``") + "`.`" + strings.ReplaceAll(n, "`", "``") + "`"
		if err := pool.QueryRowContext(ctx, q).Scan(&c); err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", db, n, err)
		}
		counts[n] = c
	}
	return counts, nil
}

// StartFresh initializes a data directory under dir, starts mariadbd on it
// on a free port of 127.0.0.1 and gives root@'%' password: a throwaway
// server whose files this process can read (tests, drills of drills).
func StartFresh(ctx context.Context, dir, password string, logBin bool) (*Server, error) {
	datadir := filepath.Join(dir, "data")
	if err := InitDatadir(ctx, datadir); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	srv, err := StartServer(ctx, ServerOptions{Datadir: datadir, Port: port, LogBin: logBin})
	if err != nil {
		return nil, err
	}
	root := srv.DB("root", "", "")
	defer root.Close()
	conn, err := root.Conn(ctx) // one session: new ones need the password
	if err != nil {
		srv.Stop()
		return nil, err
	}
	defer conn.Close()
	lit := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(password) + "'"
	for _, q := range []string{
		"DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')",
		"FLUSH PRIVILEGES",
		"CREATE USER 'root'@'%' IDENTIFIED BY " + lit,
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			srv.Stop()
			return nil, fmt.Errorf("set up root: %w", err)
		}
	}
	return srv, nil
}
