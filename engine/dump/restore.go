package dump

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jagad/jagad/engine/dbclient"
)

// Restore streams a dump from r into t.Database, creating the database when
// it does not exist: a custom-format archive through `pg_restore --clean
// --if-exists --no-owner --exit-on-error` for PostgreSQL, SQL through
// `mysql`/`mariadb --binary-mode` for MySQL/MariaDB. It fails when the tool
// exits non-zero (its stderr is in the error and in log), when reading r
// fails (the tool is killed first, so it never sees a clean end of input),
// or when a MySQL dump lacks its completion trailer. r is read to EOF.
func Restore(ctx context.Context, t dbclient.Target, tools Tools, r io.Reader, log io.Writer) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := dbclient.ValidateName(t.DBType, t.Database); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tl, err := tools.probe(ctx, t.DBType, roleRestore)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := ensureDatabase(ctx, t, log); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	cmd, err := restoreCommand(t, tl)
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

func restoreCommand(t dbclient.Target, tl tool) (*command, error) {
	if t.IsPostgres() {
		return pgCommand(t, []string{"--clean", "--if-exists", "--no-owner", "--exit-on-error"})
	}
	return mysqlCommand(t, tl, []string{"--binary-mode", "--default-character-set=utf8mb4",
		"--max-allowed-packet=1G"}, true)
}
