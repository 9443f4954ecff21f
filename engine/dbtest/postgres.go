package dbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jagad/jagad/engine/dbclient"
)

// pgBinDir returns the newest /usr/lib/postgresql/<v>/bin that has initdb,
// or the directory of initdb on PATH.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgDirVersion(dirs[i]) > pgDirVersion(dirs[j]) })
	cands := make([]string, 0, len(dirs)+1)
	for _, d := range dirs {
		cands = append(cands, filepath.Join(d, "initdb"))
	}
	initdb, err := findBinary(append(cands, "initdb")...)
	if err != nil {
		return "", err
	}
	return filepath.Dir(initdb), nil
}

func pgDirVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// startPostgres initialises a cluster with scram-sha-256 password auth in a
// temp dir and starts postgres on a free port of 127.0.0.1.
func startPostgres() (*Server, func(), error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, nil, err
	}
	cred, err := serviceCred("postgres")
	if err != nil {
		return nil, nil, err
	}
	dir, err := tempDir("jagad-pgtest-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	srv, stop, err := bootPostgres(bin, dir, cred)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start throwaway postgresql: %w", err)
	}
	return srv, func() { stop(); cleanup() }, nil
}

func bootPostgres(bin, dir string, cred *syscall.Credential) (*Server, func(), error) {
	if err := chown(cred, dir); err != nil {
		return nil, nil, err
	}
	pw := password()
	pwFile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	if err := chown(cred, pwFile); err != nil {
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	err := runAs(cred, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=scram-sha-256", "--pwfile="+pwFile, "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions")
	_ = os.Remove(pwFile)
	if err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	d, err := startDaemon(cred, syscall.SIGINT, filepath.Join(dir, "postgres.log"),
		filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	if err != nil {
		return nil, nil, err
	}
	srv := newServer(dbclient.PostgreSQL, "127.0.0.1", port, "postgres", pw, "postgres")
	probe := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return dbclient.Ping(ctx, srv.Target(""))
	}
	if err := d.waitReady(30*time.Second, probe); err != nil {
		d.stop()
		return nil, nil, err
	}
	return srv, d.stop, nil
}

// pgConnConfig is the pgx config for database db on s.
func (s *Server) pgConnConfig(db string) (*pgx.ConnConfig, error) {
	return dbclient.PgConfig(s.Target(db), db)
}
