package dump

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/jagad/jagad/engine/dbclient"
)

// Physical backups: mariadb-backup --backup --stream=xbstream copies the
// server's data directory (InnoDB pages, and since an LSN for an
// incremental) to stdout, which is the pipeline's source like a dump. The
// tool must run where it can read the data directory. Credentials travel in
// a 0600 --defaults-file (its first argument) in a private temp dir; the
// LSNs the backup covers are read from the xtrabackup_checkpoints file the
// tool also writes to --extra-lsndir.

// PhysicalOptions says where and from which LSN a physical backup runs.
type PhysicalOptions struct {
	// Datadir is the server's data directory as this process sees it; ""
	// asks the server (@@datadir) and checks that it is readable here.
	Datadir string
	// IncrementalLSN, when not 0, makes the backup an incremental of the
	// pages changed since that LSN (the parent's to_lsn).
	IncrementalLSN uint64
	// Tool is mariadb-backup's path; "" looks up mariadb-backup then
	// mariabackup in PATH.
	Tool string
}

// PhysicalResult describes a finished physical backup.
type PhysicalResult struct {
	ToolVersion   string
	ServerVersion string
	Datadir       string
	Checkpoints   Checkpoints
	Bytes         int64 // xbstream bytes written
	// BinlogFile and BinlogPos are the binary log coordinates of the
	// backup's consistent point ("" when the server has no binary log):
	// where a point-in-time replay starts.
	BinlogFile string
	BinlogPos  uint64
	// Tables counts the rows of each table of the target's database,
	// counted while the copy ran (nil when counting failed; logged), for
	// drills' reports: a physical copy has no consistent count of its own.
	Tables map[string]int64
}

// Checkpoints is the content of xtrabackup_checkpoints.
type Checkpoints struct {
	BackupType string // full-backuped | incremental
	FromLSN    uint64
	ToLSN      uint64
	LastLSN    uint64
}

// ParseCheckpoints reads an xtrabackup_checkpoints file.
func ParseCheckpoints(r io.Reader) (Checkpoints, error) {
	var c Checkpoints
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var dst *uint64
		switch k {
		case "backup_type":
			c.BackupType = v
			continue
		case "from_lsn":
			dst = &c.FromLSN
		case "to_lsn":
			dst = &c.ToLSN
		case "last_lsn":
			dst = &c.LastLSN
		default:
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("xtrabackup_checkpoints: %s = %q: %w", k, v, err)
		}
		*dst = n
		seen++
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if seen < 2 || c.ToLSN == 0 {
		return c, errors.New("xtrabackup_checkpoints: no from_lsn/to_lsn")
	}
	return c, nil
}

// PhysicalTool resolves mariadb-backup (override: path or name).
func PhysicalTool(ctx context.Context, override string) (path, version string, err error) {
	if override != "" {
		path, err = checkExecutable(override)
	} else {
		for _, n := range []string{"mariadb-backup", "mariabackup"} {
			if path, err = exec.LookPath(n); err == nil {
				break
			}
		}
		if err != nil {
			err = errors.New("mariadb-backup not found in PATH; install the mariadb-backup package (the same version as the server) or set its path")
		}
	}
	if err != nil {
		return "", "", err
	}
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("%s --version: %w", baseName(path), err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return path, strings.TrimSpace(line), nil
}

// PhysicalCopyFlags are the mariadb-backup options every physical backup
// passes besides where and what to copy; BenchmarkMariaPhysical gives its
// bare baseline the same. --log-copy-interval: the redo log copier polls
// every second by default, and the backup's end waits for its next round:
// ~0.8 s of every run, most of a small incremental's.
func PhysicalCopyFlags() []string { return []string{"--log-copy-interval=100"} }

// Physical streams a physical backup of the whole server of t to w.
func Physical(ctx context.Context, t dbclient.Target, o PhysicalOptions, w io.Writer, log io.Writer) (PhysicalResult, error) {
	var res PhysicalResult
	if t.IsPostgres() {
		return res, errors.New("physical backups are for mysql and mariadb connections")
	}
	if err := t.Validate(); err != nil {
		return res, err
	}
	path, version, err := PhysicalTool(ctx, o.Tool)
	if err != nil {
		return res, fmt.Errorf("physical preflight: %w", err)
	}
	res.ToolVersion = version
	if res.ServerVersion, err = dbclient.ServerVersion(ctx, t); err != nil {
		return res, fmt.Errorf("physical preflight: %w", err)
	}
	if res.Datadir, err = ResolveDatadir(ctx, t, o.Datadir); err != nil {
		return res, fmt.Errorf("physical preflight: %w", err)
	}
	dir, cnf, err := writeSecretFile("backup.cnf", myCnf(t))
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	work := filepath.Join(dir, "work")
	lsnDir := filepath.Join(dir, "lsn")
	for _, d := range []string{work, lsnDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return res, err
		}
	}
	ssl, err := mysqlSSLArgs(t.SSLMode, true)
	if err != nil {
		return res, err
	}
	// --defaults-file must come first; it replaces every other option file.
	args := append([]string{"--defaults-file=" + cnf, "--backup", "--stream=xbstream",
		"--target-dir=" + work, "--extra-lsndir=" + lsnDir, "--datadir=" + res.Datadir}, PhysicalCopyFlags()...)
	args = append(args, ssl...)
	if o.IncrementalLSN > 0 {
		args = append(args, "--incremental-lsn="+strconv.FormatUint(o.IncrementalLSN, 10))
	}
	kind := "full"
	if o.IncrementalLSN > 0 {
		kind = "incremental since LSN " + strconv.FormatUint(o.IncrementalLSN, 10)
	}
	logf(log, "PHYSICAL: %s started (%s; server %s; datadir %s)", kind, version, res.ServerVersion, res.Datadir)
	cw := &countWriter{w: w}
	env := append(childEnv(false), "TMPDIR="+work)
	// The row counts (a COUNT(*) of every table, as long as a scan of
	// the database: ~2 s for 537 MB, longer than an incremental's copy)
	// run beside the copy, not after it (BenchmarkMariaPhysical).
	counting := countBeside(ctx, t)
	err = run(ctx, spec{tool: tool{name: baseName(path), path: path, version: version, mariadb: true},
		args: args, env: env, secret: t.Password, log: quietLog{log}, stdout: cw})
	res.Bytes = cw.n
	if err != nil {
		counting.cancel()
		return res, fmt.Errorf("mariadb-backup: %w", err)
	}
	counts, cerr := counting.wait()
	if cerr != nil {
		logf(log, "PHYSICAL: no row counts of %s: %s", t.Database, scrub(cerr.Error(), secretForms(t.Password)))
	}
	res.Tables = counts
	f, err := os.Open(filepath.Join(lsnDir, "xtrabackup_checkpoints"))
	if err != nil {
		return res, fmt.Errorf("mariadb-backup wrote no checkpoints: %w", err)
	}
	defer f.Close()
	if res.Checkpoints, err = ParseCheckpoints(f); err != nil {
		return res, err
	}
	if cw.n == 0 {
		return res, errors.New("mariadb-backup wrote no output")
	}
	if info, err := os.ReadFile(filepath.Join(lsnDir, "xtrabackup_info")); err == nil {
		res.BinlogFile, res.BinlogPos = ParseBinlogPos(string(info))
	}
	logf(log, "PHYSICAL: %d bytes; LSN %d to %d", cw.n, res.Checkpoints.FromLSN, res.Checkpoints.ToLSN)
	return res, nil
}

// ResolveDatadir returns the configured data directory, or the server's
// @@datadir, after checking that this process can read it.
func ResolveDatadir(ctx context.Context, t dbclient.Target, configured string) (string, error) {
	dir := configured
	if dir == "" {
		cfg, err := dbclient.MySQLConfig(t, "")
		if err != nil {
			return "", err
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return "", err
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		if err := db.QueryRowContext(ctx, "SELECT @@datadir").Scan(&dir); err != nil {
			return "", fmt.Errorf("ask the server for its datadir: %s", scrub(err.Error(), secretForms(t.Password)))
		}
	}
	dir = filepath.Clean(dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %s is not readable here (physical backups run where the server's files are: same host or a shared volume): %w", dir, err)
	}
	for _, e := range ents {
		if e.Name() == "ibdata1" || strings.HasPrefix(e.Name(), "ib_logfile") {
			return dir, nil
		}
	}
	return "", fmt.Errorf("data directory %s has no InnoDB files (ibdata1, ib_logfile0): not the server's datadir?", dir)
}

// countWriter counts bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// quietLog keeps mariadb-backup's per-file progress lines ("Copying
// ./db/t.ibd", "...done") out of the job log; everything else passes.
type quietLog struct{ w io.Writer }

func (q quietLog) Write(p []byte) (int, error) {
	if q.w == nil {
		return len(p), nil
	}
	s := string(p)
	if strings.Contains(s, "...done") || strings.Contains(s, "Copying ./") || strings.Contains(s, "Streaming ./") {
		return len(p), nil
	}
	return q.w.Write(p)
}

var binlogPosLine = regexp.MustCompile(`(?m)^binlog_pos = filename '([^']+)', position '(\d+)'`)

// ParseBinlogPos reads the binary log coordinates from xtrabackup_info's
// binlog_pos line ("", 0 when there are none).
func ParseBinlogPos(info string) (string, uint64) {
	m := binlogPosLine.FindStringSubmatch(info)
	if m == nil {
		return "", 0
	}
	pos, err := strconv.ParseUint(m[2], 10, 64)
	if err != nil {
		return "", 0
	}
	return m[1], pos
}
