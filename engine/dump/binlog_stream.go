package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/jagad/jagad/engine/dbclient"
)

// BinlogStreamOptions is one run of mariadb-binlog streaming a server's
// binary logs into a spool directory.
type BinlogStreamOptions struct {
	// Tool is mariadb-binlog's path ("" = mariadb-binlog, then mysqlbinlog,
	// in PATH).
	Tool string
	// Dir receives the raw binary log files under their server names.
	Dir string
	// First is the first binary log file to read.
	First string
	// ServerID is the replica id the stream registers with (0 = 65535 -
	// a fixed id: two streams with the same id kick each other off).
	ServerID uint32
}

// StreamBinlogs runs mariadb-binlog --read-from-remote-server --raw
// --stop-never until ctx ends or the tool exits (a dropped connection, a
// server restart). The password reaches the tool only through a 0600
// --defaults-file in a private temp dir, removed when it returns.
func StreamBinlogs(ctx context.Context, t dbclient.Target, o BinlogStreamOptions, log io.Writer) error {
	if t.IsPostgres() {
		return errors.New("binary log archiving is for mysql and mariadb connections")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if o.First == "" || strings.ContainsAny(o.First, "/\x00") || strings.HasPrefix(o.First, "-") {
		return fmt.Errorf("invalid binary log name %q", o.First)
	}
	path := o.Tool
	var err error
	if path != "" {
		path, err = checkExecutable(path)
	} else {
		for _, n := range []string{"mariadb-binlog", "mysqlbinlog"} {
			if path, err = exec.LookPath(n); err == nil {
				break
			}
		}
		if err != nil {
			err = errors.New("mariadb-binlog not found in PATH; install the mariadb-client package or set its path")
		}
	}
	if err != nil {
		return err
	}
	dir, cnf, err := writeSecretFile("binlog.cnf", myCnf(t))
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	ssl, err := mysqlSSLArgs(t.SSLMode, true)
	if err != nil {
		return err
	}
	id := o.ServerID
	if id == 0 {
		id = 65535
	}
	// --defaults-file must come first; it replaces every other option file.
	args := append([]string{"--defaults-file=" + cnf, "--read-from-remote-server", "--raw", "--stop-never",
		fmt.Sprintf("--stop-never-slave-server-id=%d", id),
		"--result-file=" + filepath.Clean(o.Dir) + "/"}, ssl...)
	args = append(args, o.First)
	return run(ctx, spec{tool: tool{name: baseName(path), path: path, mariadb: true},
		args: args, env: childEnv(false), secret: t.Password, log: log})
}
