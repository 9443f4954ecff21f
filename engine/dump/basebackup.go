package dump

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jagad/jagad/engine/dbclient"
)

// BaseBackupExt is the file extension of a physical base backup: one tar of
// the whole cluster (pg_basebackup -Ft -D -), WAL for consistency inside.
const BaseBackupExt = ".base.tar"

// BaseInfo describes a finished base backup.
type BaseInfo struct {
	StartLSN string
	StopLSN  string
	Timeline int
	SystemID string
}

// System is what IDENTIFY_SYSTEM answers on a replication connection.
type System struct {
	SystemID string
	Timeline int
	XLogPos  string
}

// IdentifySystem opens a physical replication connection to t (which needs
// the REPLICATION attribute or superuser) and runs IDENTIFY_SYSTEM.
func IdentifySystem(ctx context.Context, t dbclient.Target) (System, error) {
	cfg, err := dbclient.PgConfig(t, "")
	if err != nil {
		return System{}, err
	}
	pc := cfg.Config.Copy()
	if pc.RuntimeParams == nil {
		pc.RuntimeParams = map[string]string{}
	}
	pc.RuntimeParams["replication"] = "true"
	conn, err := pgconn.ConnectConfig(ctx, pc)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return System{}, fmt.Errorf("user %q may not open a replication connection to %s: physical backups and WAL archiving need a role with the REPLICATION attribute (ALTER ROLE %s REPLICATION) and a pg_hba.conf line for the replication pseudo-database",
				t.User, t.Addr(), t.User)
		}
		return System{}, fmt.Errorf("replication connection to %s: %s", t.Addr(), dbclient.Scrub(err.Error(), t.Password))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res, err := conn.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	if err != nil {
		return System{}, fmt.Errorf("IDENTIFY_SYSTEM: %w", err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) < 3 {
		return System{}, errors.New("IDENTIFY_SYSTEM: unexpected answer")
	}
	row := res[0].Rows[0]
	tli, err := strconv.Atoi(string(row[1]))
	if err != nil {
		return System{}, fmt.Errorf("IDENTIFY_SYSTEM: timeline %q", row[1])
	}
	return System{SystemID: string(row[0]), Timeline: tli, XLogPos: string(row[2])}, nil
}

// pgTool finds a PostgreSQL client tool other than pg_dump/pg_restore:
// beside the configured pg_dump when one is set, else in PATH, else in the
// newest /usr/lib/postgresql/<v>/bin.
func pgTool(ctx context.Context, tools Tools, name string) (tool, error) {
	var cands []string
	if tools.PgDump != "" && strings.ContainsRune(tools.PgDump, '/') {
		cands = append(cands, filepath.Join(filepath.Dir(tools.PgDump), name))
	}
	if p, err := exec.LookPath(name); err == nil {
		cands = append(cands, unwrapPg(p))
	}
	if p := newestPgBin(pgLibDir, name); p != "" {
		cands = append(cands, p)
	}
	for _, c := range cands {
		if p, err := checkExecutable(c); err == nil {
			tl := Tools{PgDump: p}
			t, err := tl.probe(ctx, dbclient.PostgreSQL, roleDump)
			if err != nil {
				return tool{}, err
			}
			return t, nil
		}
	}
	return tool{}, fmt.Errorf("%s not found in PATH; install the PostgreSQL client tools", name)
}

// PgTool returns the path of a PostgreSQL tool (pg_receivewal, postgres,
// pg_ctl ...), looked up as pgTool does.
func PgTool(ctx context.Context, tools Tools, name string) (string, error) {
	t, err := pgTool(ctx, tools, name)
	return t.path, err
}

// BaseBackup streams a physical base backup of the whole cluster of t to w:
// pg_basebackup -D - -Ft -X fetch over the replication protocol, one tar
// with the WAL needed for consistency included. It checks first that the
// user may open a replication connection and that the cluster has no
// tablespaces besides the default ones (pg_basebackup refuses to write
// several tars to stdout). res.Tables counts the rows of t.Database, counted
// while the copy runs.
func BaseBackup(ctx context.Context, t dbclient.Target, tools Tools, w io.Writer, log io.Writer) (Result, BaseInfo, error) {
	var res Result
	var ph BaseInfo
	if !t.IsPostgres() {
		return res, ph, fmt.Errorf("physical backups are not supported for %s", t.DBType)
	}
	if err := t.Validate(); err != nil {
		return res, ph, err
	}
	pre := basePreflight(ctx, t, tools)
	tl := pre.tool
	res.ToolVersion, res.ServerVersion = tl.version, pre.serverVersion
	ph.SystemID, ph.Timeline = pre.sys.SystemID, pre.sys.Timeline
	if err := pre.err(); err != nil {
		return res, ph, fmt.Errorf("base backup preflight: %w", err)
	}
	// The row counts run beside the copy (countbeside.go).
	counting := countBeside(ctx, t)
	waitCounts := func() {
		counts, err := counting.wait()
		if err == nil {
			res.Tables = counts
		} else {
			logf(log, "BASEBACKUP: no row counts of %s: %s", t.Database, scrub(err.Error(), secretForms(t.Password)))
		}
	}
	cmd, err := pgCommand(t, []string{"--pgdata=-", "--format=tar", "--wal-method=fetch",
		"--checkpoint=fast", "--verbose", "--label=jagad"})
	if err != nil {
		counting.cancel()
		return res, ph, fmt.Errorf("base backup: %w", err)
	}
	defer cmd.cleanup()
	logf(log, "BASEBACKUP: cluster at %s started (%s; server %s; system %s, timeline %d)",
		t.Addr(), tl.version, res.ServerVersion, ph.SystemID, ph.Timeline)
	lsns := &lsnWatch{log: log}
	out := &tarCheck{w: w, onFirst: cmd.cleanup}
	err = run(ctx, spec{tool: tl, args: cmd.args, env: cmd.env, secret: t.Password, log: lsns, stdout: out})
	res.Bytes = out.n
	if err == nil {
		err = out.finish()
	}
	if err == nil {
		ph.StartLSN, ph.StopLSN = lsns.result()
		if ph.StartLSN == "" || ph.StopLSN == "" {
			err = errors.New("pg_basebackup did not report its start and end WAL positions")
		}
		if tli := lsns.timeline(); tli > 0 {
			ph.Timeline = tli
		}
	}
	if err != nil {
		counting.cancel()
		logf(log, "BASEBACKUP ERROR: %s", scrub(err.Error(), secretForms(t.Password)))
		return res, ph, fmt.Errorf("base backup: %w", err)
	}
	waitCounts()
	logf(log, "BASEBACKUP: %d bytes of tar, WAL %s to %s on timeline %d", out.n, ph.StartLSN, ph.StopLSN, ph.Timeline)
	return res, ph, nil
}

// basePre is what BaseBackup learns before it starts pg_basebackup.
type basePre struct {
	tool          tool
	serverVersion string
	sys           System
	tablespaces   int
	toolErr       error
	versionErr    error
	sysErr        error
	spaceErr      error
	addr          string
}

// basePreflight finds pg_basebackup, reads the server's version, runs
// IDENTIFY_SYSTEM and counts the extra tablespaces at once: four round
// trips (a process start and three connections) that, one after the
// other, took a third of a second before the copy started on a loaded
// machine (BenchmarkPhysicalBackup's job log).
func basePreflight(ctx context.Context, t dbclient.Target, tools Tools) basePre {
	p := basePre{addr: t.Addr()}
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); p.tool, p.toolErr = pgTool(ctx, tools, "pg_basebackup") }()
	go func() { defer wg.Done(); p.serverVersion, p.versionErr = dbclient.ServerVersion(ctx, t) }()
	go func() { defer wg.Done(); p.sys, p.sysErr = IdentifySystem(ctx, t) }()
	go func() { defer wg.Done(); p.tablespaces, p.spaceErr = extraTablespaces(ctx, t) }()
	wg.Wait()
	return p
}

// err is the first failed check, in the order they would run one by one.
func (p basePre) err() error {
	for _, err := range []error{p.toolErr, p.versionErr} {
		if err != nil {
			return err
		}
	}
	if tm, ok1 := pgMajor(p.tool.version); ok1 {
		if sm, ok2 := pgMajor(p.serverVersion); ok2 && tm < sm {
			return fmt.Errorf("%s is older than the PostgreSQL %s server", p.tool.version, p.serverVersion)
		}
	}
	if p.sysErr != nil {
		return p.sysErr
	}
	if p.spaceErr != nil {
		return p.spaceErr
	}
	if p.tablespaces > 0 {
		return fmt.Errorf("the cluster at %s has %d tablespace(s) besides pg_default and pg_global; pg_basebackup can stream only a cluster without extra tablespaces as one tar", p.addr, p.tablespaces)
	}
	return nil
}

// extraTablespaces counts the cluster's tablespaces besides the built-in two.
func extraTablespaces(ctx context.Context, t dbclient.Target) (int, error) {
	cfg, err := dbclient.PgConfig(t, t.Database)
	if err != nil {
		return 0, err
	}
	conn, err := pgconn.ConnectConfig(ctx, &cfg.Config)
	if err != nil {
		return 0, fmt.Errorf("connect: %s", dbclient.Scrub(err.Error(), t.Password))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res, err := conn.Exec(ctx, "SELECT count(*) FROM pg_catalog.pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')").ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		return 0, fmt.Errorf("count tablespaces: %v", err)
	}
	return strconv.Atoi(string(res[0].Rows[0][0]))
}

var (
	walStart = regexp.MustCompile(`write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)`)
	walEnd   = regexp.MustCompile(`write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)`)
)

// lsnWatch forwards pg_basebackup's stderr lines to log and picks the WAL
// start and end points out of its --verbose output.
type lsnWatch struct {
	log        io.Writer
	mu         sync.Mutex
	start, end string
	tli        int
}

func (l *lsnWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	for _, line := range strings.Split(string(p), "\n") {
		if m := walStart.FindStringSubmatch(line); m != nil {
			l.start = m[1]
			l.tli, _ = strconv.Atoi(m[2])
		}
		if m := walEnd.FindStringSubmatch(line); m != nil {
			l.end = m[1]
		}
	}
	l.mu.Unlock()
	if l.log != nil {
		return l.log.Write(p)
	}
	return len(p), nil
}

func (l *lsnWatch) result() (string, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start, l.end
}

func (l *lsnWatch) timeline() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tli
}

// tarCheck forwards the tar stream to w and proves it plausible: a ustar
// header first and the two zero blocks that end a tar last.
type tarCheck struct {
	w       io.Writer
	n       int64
	head    []byte
	tail    tailBuf
	onFirst func()
}

func (c *tarCheck) Write(p []byte) (int, error) {
	if c.n == 0 && len(p) > 0 && c.onFirst != nil {
		c.onFirst()
	}
	if len(c.head) < 512 {
		c.head = append(c.head, p[:min(len(p), 512-len(c.head))]...)
	}
	_, _ = c.tail.Write(p)
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *tarCheck) finish() error {
	if c.n == 0 {
		return errors.New("pg_basebackup wrote nothing")
	}
	if len(c.head) < 512 || !bytes.Equal(c.head[257:262], []byte("ustar")) {
		return errors.New("pg_basebackup output is not a tar archive")
	}
	if len(c.tail.buf) < tailSize || !bytes.Equal(c.tail.buf, make([]byte, tailSize)) {
		return errors.New("pg_basebackup output is truncated (no end-of-archive blocks)")
	}
	return nil
}

// isTar reports whether head (the first 512 bytes) is a ustar header.
func isTar(head []byte) bool {
	return len(head) >= 512 && bytes.Equal(head[257:262], []byte("ustar"))
}

// checkBaseTar reads a base backup's tar to its end and proves it a data
// directory copy: every entry readable, backup_label and global/pg_control
// present. Deep verification uses it where a dump gets pg_restore --list.
func checkBaseTar(r io.Reader) error {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("check base backup: %w", err)
		}
		seen[strings.TrimPrefix(h.Name, "./")] = true
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("check base backup: %s: %w", h.Name, err)
		}
	}
	for _, f := range []string{"backup_label", "global/pg_control"} {
		if !seen[f] {
			return fmt.Errorf("check base backup: %s is missing from the tar", f)
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // the zero blocks after the end
		return fmt.Errorf("check base backup: %w", err)
	}
	return nil
}
