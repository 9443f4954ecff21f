package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/jagad/jagad/engine/dbclient"
)

// RestoreOptions changes how a dump is restored.
type RestoreOptions struct {
	// NoPrivileges skips a PostgreSQL dump's GRANT and REVOKE statements
	// (pg_restore --no-privileges), for a target server without the source's
	// roles. MySQL and MariaDB dumps carry no privileges; it does nothing there.
	NoPrivileges bool
	// DataOnly restores a PostgreSQL dump's rows into the target's existing
	// tables (pg_restore --data-only, without --clean: nothing is dropped).
	// A MySQL/MariaDB dump cannot be restored data-only: Restore refuses it.
	DataOnly bool
}

// Restore streams a dump from r into t.Database, creating the database when
// it does not exist: a custom-format archive through `pg_restore --clean
// --if-exists --no-owner --single-transaction` (opts.DataOnly: `--data-only`
// instead of `--clean --if-exists`) for PostgreSQL (all or
// nothing: a restore that fails leaves the target as it was), SQL through
// `mysql`/`mariadb --binary-mode` for MySQL/MariaDB. It fails when the tool
// exits non-zero (its stderr is in the error and in log), when reading r
// fails (the tool is killed first, so it never sees a clean end of input),
// or when a MySQL dump lacks its completion trailer. r is read to EOF.
func Restore(ctx context.Context, t dbclient.Target, tools Tools, opts RestoreOptions, r io.Reader, log io.Writer) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := dbclient.ValidateName(t.DBType, t.Database); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if opts.DataOnly && !t.IsPostgres() {
		return fmt.Errorf("restore: %w", ErrDataOnlyUnsupported)
	}
	tl, err := tools.probe(ctx, t.DBType, roleRestore)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := ensureDatabase(ctx, t, log); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	cmd, err := restoreCommand(t, tl, opts)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer cmd.cleanup()
	logf(log, "RESTORE: %s into %s started (%s)", t.DBType, t.Database, tl.version)
	in := &countingReader{r: r}
	var tail tailBuf
	var src io.Reader = in
	if !t.IsPostgres() {
		src = io.TeeReader(in, &tail)
	}
	err = run(ctx, spec{tool: tl, args: cmd.args, env: cmd.env, secret: t.Password, log: log, stdin: src})
	if err == nil && in.n == 0 {
		err = errors.New("empty input")
	}
	if err == nil && !t.IsPostgres() && !tail.hasTrailer() {
		err = errors.New("input has no \"-- Dump completed\" trailer: the dump was incomplete")
	}
	if err != nil {
		logf(log, "RESTORE ERROR: %s", scrub(err.Error(), secretForms(t.Password)))
		if t.IsPostgres() && strings.Contains(err.Error(), "max_locks_per_transaction") {
			logf(log, "RESTORE HINT: the dump has more objects than one transaction can lock on this server; "+
				"raise max_locks_per_transaction (postgresql.conf, restart) and restore again")
		}
		if t.IsPostgres() && !opts.NoPrivileges && missingRole.MatchString(err.Error()) {
			logf(log, "RESTORE HINT: the dump grants privileges to a role this server lacks; create the role, "+
				"or restore with no_privileges (jagad restore --no-privileges) to skip GRANT and REVOKE")
			err = fmt.Errorf("%w (a role the dump grants to is missing; no_privileges skips GRANT and REVOKE)", err)
		}
		return fmt.Errorf("restore into %s: %w", t.Database, err)
	}
	logf(log, "RESTORE: OK (%d bytes)", in.n)
	return nil
}

func ensureDatabase(ctx context.Context, t dbclient.Target, log io.Writer) error {
	ok, err := dbclient.DatabaseExists(ctx, t, t.Database)
	if err != nil || ok {
		return err
	}
	if err := dbclient.CreateDatabase(ctx, t, t.Database); err != nil {
		return err
	}
	logf(log, "RESTORE: created database %s", t.Database)
	return nil
}

// ErrDataOnlyUnsupported refuses a data-only restore of a MySQL/MariaDB dump:
// the dump's DDL and data are one SQL stream, and a dump without DDL cannot
// be made from a full one.
var ErrDataOnlyUnsupported = errors.New("a data-only restore is supported for PostgreSQL only: " +
	"a MySQL/MariaDB dump is one SQL script of DDL and data, and a dump without DDL cannot be made from a full one")

// missingRole matches pg_restore's error for a GRANT to an unknown role.
var missingRole = regexp.MustCompile(`role "[^"]*" does not exist`)

func restoreCommand(t dbclient.Target, tl tool, opts RestoreOptions) (*command, error) {
	if t.IsPostgres() {
		// One transaction (which implies --exit-on-error): a restore that
		// fails anywhere, even at the GRANTs at the very end, rolls back, and
		// an existing target keeps its data instead of being left half
		// replaced. It takes a lock per restored object, bounded by the
		// server's max_locks_per_transaction; see lockHint.
		args := []string{"--clean", "--if-exists", "--no-owner", "--single-transaction"}
		if opts.DataOnly {
			// Rows only, into the existing tables: --clean would drop
			// them (pg_restore refuses the combination anyway).
			args = []string{"--data-only", "--no-owner", "--single-transaction"}
		}
		if opts.NoPrivileges {
			args = append(args, "--no-privileges")
		}
		return pgCommand(t, args)
	}
	return mysqlCommand(t, tl, []string{"--binary-mode", "--default-character-set=utf8mb4",
		"--max-allowed-packet=1G"}, true)
}
