package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/jagad/jagad/engine"
)

// physicalRestoreFlags are `jagad restore`'s flags for physical backups.
type physicalRestoreFlags struct {
	targetDir, toTime, toLSN, checkUser, archive string
	check, latest                                bool
}

func addPhysicalRestoreFlags(f *pflag.FlagSet) *physicalRestoreFlags {
	p := &physicalRestoreFlags{}
	f.StringVar(&p.targetDir, "target-dir", "",
		"physical backups: restore into this new data `DIR` (absolute; missing or empty) instead of a server (--to)")
	f.BoolVar(&p.check, "check", false,
		"physical backups: start a throwaway server on the restored directory and count the rows of the backup's database")
	f.StringVar(&p.checkUser, "check-user", "postgres",
		"PostgreSQL physical backups: the `ROLE` --check connects as (a superuser of the backed-up cluster)")
	f.StringVar(&p.toTime, "to-time", "",
		"physical backups: restore to this RFC 3339 `TIME` (the newest base before it, then archived WAL or binary logs)")
	f.StringVar(&p.toLSN, "to-lsn", "", "PostgreSQL physical backups: restore to this `LSN` (X/Y)")
	f.BoolVar(&p.latest, "latest", false, "PostgreSQL physical backups: restore to the end of the archived WAL")
	f.StringVar(&p.archive, "archive-storage", "",
		"physical backups: the storage of the archived WAL or binary logs when it is not the backup's (`SPEC` as for --fallback-storage)")
	return p
}

// usage checks the combination of flags: --to or --target-dir, and the
// physical-only flags only with --target-dir.
func (p *physicalRestoreFlags) usage(to string) error {
	switch {
	case to == "" && p.targetDir == "":
		return usagef("give --to URL (a logical dump) or --target-dir DIR (a physical backup)")
	case to != "" && p.targetDir != "":
		return usagef("--to and --target-dir exclude each other: a logical dump restores into a server, a physical backup into a new data directory")
	case to != "" && (p.check || p.toTime != "" || p.toLSN != "" || p.latest || p.archive != ""):
		return usagef("--check, --to-time, --to-lsn, --latest and --archive-storage are for physical backups (with --target-dir)")
	}
	n := 0
	for _, set := range []bool{p.toTime != "", p.toLSN != "", p.latest} {
		if set {
			n++
		}
	}
	if n > 1 {
		return usagef("give at most one of --to-time, --to-lsn and --latest")
	}
	return nil
}

// fill copies the flags into o.
func (p *physicalRestoreFlags) fill(o *engine.OfflineRestoreOptions, env func(string) (string, bool)) error {
	o.TargetDir, o.Check, o.CheckUser, o.ToLSN, o.Latest = p.targetDir, p.check, p.checkUser, p.toLSN, p.latest
	if p.toTime != "" {
		ts, err := time.Parse(time.RFC3339Nano, p.toTime)
		if err != nil {
			return usagef("--to-time: %v (want RFC 3339, e.g. 2026-01-01T14:37:00Z)", err)
		}
		o.ToTime = &ts
	}
	if p.archive != "" {
		spec, err := parseStorageSpec(p.archive, env)
		if err != nil {
			return usagef("--archive-storage %v", err)
		}
		if o.ArchiveStore, err = openStorage(spec); err != nil {
			return usagef("--archive-storage %q: %v", p.archive, err)
		}
	}
	return nil
}

// restorePhysical runs an offline restore into a new data directory.
func (a *app) restorePhysical(o engine.OfflineRestoreOptions, timeout time.Duration) error {
	o.Log = a.stderr
	ctx, cancel := signalContext(timeout)
	defer cancel()
	res, err := engine.RestoreOfflineDir(ctx, o)
	if err != nil {
		return err
	}
	m := res.Backup
	what := "physical backup " + m.BackupID
	if len(res.Chain) > 1 {
		what = fmt.Sprintf("chain %s (%d links: %s)", m.ChainID, len(res.Chain), strings.Join(res.Chain, ", "))
	}
	point := ""
	switch {
	case o.ToTime != nil:
		point = " to " + o.ToTime.UTC().Format(time.RFC3339Nano)
	case o.ToLSN != "":
		point = " to LSN " + o.ToLSN
	case o.Latest:
		point = " to the end of the archived WAL"
	}
	fmt.Fprintf(a.stdout, "restored %s (%s %s)%s into %s\n", what, m.DBType, m.ConnectionName, point, o.TargetDir)
	if o.Check {
		var rows int64
		for _, n := range res.Counts {
			rows += n
		}
		fmt.Fprintf(a.stdout, "check: database %s answers: %d tables, %d rows\n", m.DatabaseName, len(res.Counts), rows)
	}
	return nil
}
