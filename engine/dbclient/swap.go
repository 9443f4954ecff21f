package dbclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// A restore that replaces a database (drop_existing) never drops the target
// before the new content is complete: it restores into a temporary database
// and swaps it in at the end, so that a restore that fails or is killed at
// any point leaves the existing target as it was. The temporary names derive
// from the target and a tag (the restore's id), so that whoever knows the
// restore (start-up crash recovery, the next restore of the same target) can
// find and remove what a killed restore left behind.

// Suffixes of the names a swap uses; see SwapNames.
const (
	tmpSuffix = "__jagad_restore_"
	oldSuffix = "__jagad_old_"
)

// SwapNames returns the temporary database a replacing restore of target
// tagged tag restores into, and the name the old target gets during a
// PostgreSQL swap (on MySQL/MariaDB the old tables get names inside the
// target, see oldTablePrefix). Both fit the server's identifier limit: the
// target's part is shortened when needed.
func SwapNames(dbType, target, tag string) (tmp, old string) {
	return swapName(dbType, target, tmpSuffix+tag), swapName(dbType, target, oldSuffix+tag)
}

func swapName(dbType, target, suffix string) string {
	limit := 63 // PostgreSQL: bytes
	size := func(s string) int { return len(s) }
	if dbType != PostgreSQL {
		limit = 64 // MySQL/MariaDB: characters
		size = utf8.RuneCountInString
	}
	for size(target)+size(suffix) > limit {
		_, n := utf8.DecodeLastRuneInString(target)
		target = target[:len(target)-n]
	}
	return target + suffix
}

// oldTablePrefix is the prefix of the names a MySQL/MariaDB swap gives the
// target's old tables and views inside the target schema (views cannot move
// to another schema, nor can tables that have triggers).
func oldTablePrefix(tag string) string { return "__jagad_old_" + tag + "_" }

// SwapDatabase replaces database target with database tmp. PostgreSQL: the
// target's sessions are terminated and both renames run in one transaction
// (target → old, tmp → target): a crash leaves either the old or the new
// target, never none; old is then dropped. MySQL/MariaDB: see swapMySQL.
// A target that does not exist is simply created by renaming tmp.
func SwapDatabase(ctx context.Context, t Target, target, tmp, tag string) error {
	for _, n := range []string{target, tmp} {
		if err := ValidateName(t.DBType, n); err != nil {
			return err
		}
	}
	var err error
	if t.IsPostgres() {
		err = swapPostgres(ctx, t, target, tmp, tag)
	} else {
		err = swapMySQL(ctx, t, target, tmp, tag)
	}
	if err != nil {
		return fmt.Errorf("swap database %q into %q: %w", tmp, target, err)
	}
	return nil
}

// adminDB is a database to connect to for renaming or dropping names.
func adminDB(names ...string) string {
	for _, n := range names {
		if n == "postgres" {
			return "template1"
		}
	}
	return "postgres"
}

func swapPostgres(ctx context.Context, t Target, target, tmp, tag string) error {
	_, old := SwapNames(t.DBType, target, tag)
	err := withDB(ctx, t, adminDB(target, tmp, old), func(db *sql.DB) error {
		// New sessions can connect to the target between the termination and
		// the rename (the rename then fails with SQLSTATE 55006); try again.
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if err = renamePostgres(ctx, db, target, tmp, old); !isObjectInUse(err) {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
		return err
	})
	if err != nil {
		return err
	}
	return DropDatabase(ctx, Target{DBType: t.DBType, Host: t.Host, Port: t.Port, User: t.User,
		Password: t.Password, SSLMode: t.SSLMode, Database: adminDB(target, old)}, old)
}

// renamePostgres renames target to old (when it exists) and tmp to target
// in one transaction.
func renamePostgres(ctx context.Context, db *sql.DB, target, tmp, old string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var exists bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", target).Scan(&exists); err != nil {
		return err
	}
	if exists {
		const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`
		if _, err := tx.ExecContext(ctx, terminate, target); err != nil {
			return fmt.Errorf("terminate sessions: %w", err)
		}
		// The rename waits up to 5 s for the terminated sessions to exit.
		if _, err := tx.ExecContext(ctx, "ALTER DATABASE "+QuoteIdent(PostgreSQL, target)+" RENAME TO "+QuoteIdent(PostgreSQL, old)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "ALTER DATABASE "+QuoteIdent(PostgreSQL, tmp)+" RENAME TO "+QuoteIdent(PostgreSQL, target)); err != nil {
		return err
	}
	return tx.Commit()
}

func isObjectInUse(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}

// DropSwapLeftovers removes what replacing restores of target with the given
// tags left behind when they were interrupted: their temporary databases,
// the old target of a PostgreSQL swap that committed but was not dropped,
// and on MySQL/MariaDB the old tables and views of a swap that was not
// finished. It never touches the target's own objects. It returns the names
// it dropped.
func DropSwapLeftovers(ctx context.Context, t Target, target string, tags []string) ([]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	var dropped []string
	dbName := ""
	if t.IsPostgres() {
		dbName = adminDB(target)
	}
	err := withDB(ctx, t, dbName, func(db *sql.DB) error {
		var err error
		if t.IsPostgres() {
			dropped, err = dropLeftoversPostgres(ctx, db, t.DBType, target, tags)
		} else {
			dropped, err = dropLeftoversMySQL(ctx, db, target, tags)
		}
		return err
	})
	if err != nil {
		return dropped, fmt.Errorf("remove leftovers of interrupted restores of %q: %w", target, err)
	}
	return dropped, nil
}

func dropLeftoversPostgres(ctx context.Context, db *sql.DB, dbType, target string, tags []string) ([]string, error) {
	var names []string
	for _, tag := range tags {
		tmp, old := SwapNames(dbType, target, tag)
		names = append(names, tmp, old)
	}
	existing, err := queryStrings(ctx, db, "SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname", names)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, n := range existing {
		if err := dropPostgres(ctx, db, n); err != nil {
			return dropped, fmt.Errorf("drop database %q: %w", n, err)
		}
		dropped = append(dropped, n)
	}
	return dropped, nil
}

func dropLeftoversMySQL(ctx context.Context, db *sql.DB, target string, tags []string) ([]string, error) {
	var dropped []string
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	objs, err := listObjects(ctx, conn, target)
	if err != nil {
		return nil, err
	}
	// Old tables can reference each other.
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return nil, err
	}
	for _, tag := range tags {
		tmp, _ := SwapNames(MySQL, target, tag)
		n, err := queryStrings(ctx, conn, "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", tmp)
		if err != nil {
			return dropped, err
		}
		if len(n) > 0 {
			if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+QuoteIdent(MySQL, tmp)); err != nil {
				return dropped, fmt.Errorf("drop database %q: %w", tmp, err)
			}
			dropped = append(dropped, tmp)
		}
		for _, o := range objs {
			if !strings.HasPrefix(o.name, oldTablePrefix(tag)) {
				continue
			}
			if err := dropObject(ctx, conn, target, o); err != nil {
				return dropped, err
			}
			dropped = append(dropped, target+"."+o.name)
		}
	}
	return dropped, nil
}
