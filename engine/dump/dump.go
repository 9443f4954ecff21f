// Package dump runs the database client tools: pg_dump/pg_restore for
// PostgreSQL and mysqldump/mariadb-dump and mysql/mariadb for MySQL and
// MariaDB, streaming dumps to a writer and restores from a reader.
//
// Tools run with an argv slice (no shell), every value as --opt=value, in
// their own process group that is killed on cancellation, with a minimal
// environment. Passwords reach them only through a 0600 file in a private
// temp dir (PGPASSFILE or --defaults-extra-file), removed afterwards, and
// are scrubbed from every stderr line.
package dump

import (
	"context"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
)

// Result describes a finished dump.
type Result struct {
	ToolVersion   string           // first line of the tool's --version
	ServerVersion string           // e.g. "15.19", "10.11.19-MariaDB"
	Tables        map[string]int64 // exact row counts captured before the dump
	Bytes         int64            // bytes written to w
}

// Dump checks the tool and the server (tool present; pg_dump not older than
// the server; database exists), records table row counts, then streams the
// dump of t.Database to w. log receives progress and the tool's stderr lines
// (secrets scrubbed). Any failure — non-zero exit, kill, ctx done, empty or
// implausible output — is returned as an error.
func Dump(ctx context.Context, t dbclient.Target, tools Tools, w io.Writer, log io.Writer) (Result, error) {
	var res Result
	tl, err := preflight(ctx, t, tools, &res)
	if err != nil {
		return res, fmt.Errorf("dump preflight: %w", err)
	}
	// Row counts (restore drills compare them) must describe the dumped
	// data: PostgreSQL exports a snapshot, pg_dump dumps exactly it, and the
	// rows are counted in it beside the dump (counted first, they added a
	// scan of the database to the backup's time: engine/bench/run.sh).
	// mysqldump takes its own --single-transaction snapshot that cannot be
	// shared, so its rows are counted in the stream.
	snapshot := ""
	var rows *rowCounter
	var counting *rowCounts
	nTables := 0
	if t.IsPostgres() {
		snap, err := dbclient.ExportSnapshot(ctx, t, t.Database)
		if err != nil {
			return res, fmt.Errorf("dump preflight: %w", err)
		}
		defer snap.Close()
		snapshot, nTables = snap.ID, snap.Tables()
		counting = startCount(ctx, snap.Count)
		defer counting.cancel() // before snap.Close: the count runs in its transaction
	} else {
		names, err := dbclient.TableNames(ctx, t, t.Database)
		if err != nil {
			return res, fmt.Errorf("dump preflight: %w", err)
		}
		rows = newRowCounter(names)
	}
	cmd, err := dumpCommand(t, tl, snapshot)
	if err != nil {
		return res, fmt.Errorf("dump: %w", err)
	}
	defer cmd.cleanup()
	if rows != nil {
		nTables = len(rows.counts)
	}
	logf(log, "DUMP: %s %s started (%s; server %s; %d tables)", t.DBType, t.Database, tl.version, res.ServerVersion, nTables)
	// The tool has authenticated once it writes: its credentials file goes
	// then instead of staying on disk for the whole (possibly hours-long) dump.
	out := &outputCheck{w: w, pg: t.IsPostgres(), onFirst: cmd.cleanup, rows: rows}
	err = run(ctx, spec{tool: tl, args: cmd.args, env: cmd.env, secret: t.Password, log: log, stdout: out})
	res.Bytes = out.n
	if err == nil {
		err = out.finish(tl.name)
	}
	if err != nil {
		logf(log, "DUMP ERROR: %s", scrub(err.Error(), secretForms(t.Password)))
		return res, fmt.Errorf("dump %s: %w", t.Database, err)
	}
	logf(log, "DUMP: %d bytes uncompressed", out.n)
	if rows != nil {
		res.Tables = mysqlCounts(ctx, t, rows, log)
	}
	if counting != nil {
		counts, err := counting.wait()
		if err != nil {
			// The dump is whole; without counts a drill says it has none.
			logf(log, "DUMP: no row counts: %s", scrub(err.Error(), secretForms(t.Password)))
		}
		res.Tables = counts
	}
	return res, nil
}

// mysqlCounts returns the row counts read from the dump stream. When the
// stream could not be followed, it counts with COUNT(*) after the dump
// (a later moment than the dump's snapshot) and says so in the log; when
// that fails too, the backup has no counts and a drill will say so.
func mysqlCounts(ctx context.Context, t dbclient.Target, rows *rowCounter, log io.Writer) map[string]int64 {
	counts, err := rows.result()
	if err == nil {
		return counts
	}
	logf(log, "DUMP: %v; counting rows with COUNT(*) after the dump instead", err)
	counts, err = dbclient.TableCounts(ctx, t, t.Database)
	if err != nil {
		logf(log, "DUMP: no row counts: %v", scrub(err.Error(), secretForms(t.Password)))
		return nil
	}
	return counts
}

// preflight resolves the tool and checks versions and the database.
func preflight(ctx context.Context, t dbclient.Target, tools Tools, res *Result) (tool, error) {
	if err := t.Validate(); err != nil {
		return tool{}, err
	}
	if err := dbclient.ValidateName(t.DBType, t.Database); err != nil {
		return tool{}, err
	}
	// The tool's --version runs while the server is asked for its own (a
	// process start and a connection, one after the other, were a tenth of
	// a 70 MB backup: engine/bench/run.sh); a missing tool is still the
	// error reported first.
	type probed struct {
		tl  tool
		err error
	}
	probing := make(chan probed, 1)
	go func() {
		tl, err := tools.probe(ctx, t.DBType, roleDump)
		probing <- probed{tl, err}
	}()
	// PostgreSQL: this connects to the database itself (least privilege).
	serverVersion, err := dbclient.ServerVersion(ctx, t)
	p := <-probing
	if p.err != nil {
		return tool{}, p.err
	}
	tl := p.tl
	res.ToolVersion, res.ServerVersion = tl.version, serverVersion
	if err != nil {
		if nfErr := checkExists(ctx, t); nfErr != nil {
			return tool{}, nfErr
		}
		return tool{}, err
	}
	if !t.IsPostgres() {
		if err := checkExists(ctx, t); err != nil {
			return tool{}, err
		}
		return tl, nil
	}
	toolMajor, ok1 := pgMajor(tl.version)
	serverMajor, ok2 := pgMajor(res.ServerVersion)
	if !ok1 || !ok2 {
		return tool{}, fmt.Errorf("cannot compare %s version %q with server version %q", tl.name, tl.version, res.ServerVersion)
	}
	if toolMajor < serverMajor {
		return tool{}, fmt.Errorf("%s is older than the PostgreSQL %s server at %s; install pg_dump %s or newer (or set its path)",
			tl.version, res.ServerVersion, t.Addr(), majorString(serverMajor))
	}
	return tl, nil
}

func majorString(m int) string {
	if m >= 1000 {
		return fmt.Sprint(m / 100)
	}
	return fmt.Sprintf("%d.%d", m/100, m%100)
}

// checkExists returns an error when t.Database does not exist (or the check
// itself fails), nil when it exists.
func checkExists(ctx context.Context, t dbclient.Target) error {
	ok, err := dbclient.DatabaseExists(ctx, t, t.Database)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("database %q does not exist on %s at %s", t.Database, t.DBType, t.Addr())
	}
	return nil
}

// dumpCommand builds the dump tool's command; snapshot is an exported
// PostgreSQL snapshot to dump ("" for none).
func dumpCommand(t dbclient.Target, tl tool, snapshot string) (*command, error) {
	if t.IsPostgres() {
		args := []string{"--format=custom", "--compress=0"}
		if snapshot != "" {
			args = append(args, "--snapshot="+snapshot)
		}
		return pgCommand(t, args)
	}
	return mysqlCommand(t, tl, []string{"--single-transaction", "--routines", "--triggers", "--events",
		"--default-character-set=utf8mb4", "--max-allowed-packet=1G"}, false)
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		_, _ = fmt.Fprintf(w, format+"\n", args...)
	}
}
