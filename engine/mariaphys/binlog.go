package mariaphys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReplayOptions is a point-in-time replay of binary logs into a server.
type ReplayOptions struct {
	// Files are the binary log files in order; the first is the one the
	// backup's coordinates name.
	Files []string
	// StartPos is the backup's position in Files[0].
	StartPos uint64
	// Stop: events at or after it are not applied (second resolution, as
	// binary log timestamps are).
	Stop time.Time
	// Binlog and Client are mariadb-binlog's and mariadb's paths ("" =
	// PATH).
	Binlog, Client string
	Log            io.Writer
}

// ReplayBinlogs applies the events of o.Files from o.StartPos up to o.Stop
// to srv: mariadb-binlog --start-position --stop-datetime (in UTC) piped
// into the mariadb client on the server's socket.
func ReplayBinlogs(ctx context.Context, srv *Server, o ReplayOptions) error {
	if len(o.Files) == 0 {
		return errors.New("no binary logs to replay")
	}
	if o.Stop.IsZero() {
		return errors.New("a point-in-time replay needs a stop time")
	}
	binlog, err := findBinary(o.Binlog, "mariadb-binlog", "mysqlbinlog")
	if err != nil {
		return err
	}
	client, err := findBinary(o.Client, "mariadb", "mysql")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	env := []string{"TZ=UTC", "PATH=" + os.Getenv("PATH")}
	args := []string{"--no-defaults", "--start-position=" + strconv.FormatUint(o.StartPos, 10),
		"--stop-datetime=" + o.Stop.UTC().Format("2006-01-02 15:04:05")}
	dec := exec.CommandContext(ctx, binlog, append(args, o.Files...)...)
	dec.Env = env
	dec.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	apply := exec.CommandContext(ctx, client, "--no-defaults", "--socket="+srv.Socket, "--user=root", "--binary-mode")
	apply.Env = env
	apply.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := dec.StdoutPipe()
	if err != nil {
		return err
	}
	apply.Stdin = pipe
	var decErr, applyErr strings.Builder
	dec.Stderr = &limited{b: &decErr, n: 4096}
	apply.Stderr = &limited{b: &applyErr, n: 4096}
	apply.Stdout = io.Discard
	if err := dec.Start(); err != nil {
		return fmt.Errorf("start %s: %w", binlog, err)
	}
	if err := apply.Start(); err != nil {
		cancel()
		_ = dec.Wait()
		return fmt.Errorf("start %s: %w", client, err)
	}
	logf(o.Log, "PITR: replaying %d binary log(s) from %s:%d up to %s", len(o.Files), o.Files[0], o.StartPos, o.Stop.UTC().Format(time.RFC3339))
	aerr := apply.Wait()
	if aerr != nil {
		cancel() // stop the decoder too
	}
	derr := dec.Wait()
	switch {
	case aerr != nil:
		return fmt.Errorf("apply binary logs: %w: %s", aerr, strings.TrimSpace(applyErr.String()))
	case derr != nil:
		return fmt.Errorf("decode binary logs: %w: %s", derr, strings.TrimSpace(decErr.String()))
	}
	logf(o.Log, "PITR: replay done")
	return nil
}

// BinlogsFrom lists the binary logs of index file (mysql-bin.index) from
// first onwards, as absolute paths in dir.
func BinlogsFrom(dir, index, first string) ([]string, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		name := strings.TrimSpace(line)
		if name == "" {
			continue
		}
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		if name == first || len(out) > 0 {
			out = append(out, dir+"/"+name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("binary log %s is not in %s", first, index)
	}
	return out, nil
}
