package dbclient

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Ping connects to the server (to t.Database when set, else the server's
// maintenance database) within 5 seconds.
func Ping(ctx context.Context, t Target) error {
	pool, err := open(ctx, t, connectDB(t))
	if err != nil {
		return err
	}
	return pool.Close()
}

// connectDB is the database server-level operations connect to.
func connectDB(t Target) string {
	if t.IsPostgres() {
		return maintenanceDB(t, "")
	}
	return ""
}

// withDB opens a connection to db, runs fn and closes the connection.
func withDB(ctx context.Context, t Target, db string, fn func(*sql.DB) error) error {
	pool, err := open(ctx, t, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	return scrubErr(fn(pool), t.Password)
}

// ServerVersion returns the server's version, e.g. "15.19" or
// "10.11.19-MariaDB".
func ServerVersion(ctx context.Context, t Target) (string, error) {
	var v string
	err := withDB(ctx, t, connectDB(t), func(db *sql.DB) error {
		q := "SELECT VERSION()"
		if t.IsPostgres() {
			q = "SHOW server_version"
		}
		return db.QueryRowContext(ctx, q).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return normalizeVersion(v), nil
}

// normalizeVersion trims distribution suffixes: "15.19 (Debian 15.19-1)" →
// "15.19", "10.11.19-MariaDB-0+deb12u1" → "10.11.19-MariaDB", "8.0.36-log" →
// "8.0.36".
func normalizeVersion(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	if i := strings.Index(v, "-MariaDB"); i > 0 {
		return v[:i+len("-MariaDB")]
	}
	if i := strings.IndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}

// DatabaseExists reports whether database name exists on the server.
func DatabaseExists(ctx context.Context, t Target, name string) (bool, error) {
	var n int
	err := withDB(ctx, t, maintenanceDB(t, name), func(db *sql.DB) error {
		q := "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"
		if t.IsPostgres() {
			q = "SELECT COUNT(*) FROM pg_database WHERE datname = $1"
		}
		return db.QueryRowContext(ctx, q, name).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("check database %q: %w", name, err)
	}
	return n > 0, nil
}

// CreateDatabase creates database name (quoted: any valid name is safe).
func CreateDatabase(ctx context.Context, t Target, name string) error {
	if err := ValidateName(t.DBType, name); err != nil {
		return err
	}
	err := withDB(ctx, t, maintenanceDB(t, name), func(db *sql.DB) error {
		q := "CREATE DATABASE " + QuoteIdent(t.DBType, name)
		if !t.IsPostgres() {
			q += " CHARACTER SET utf8mb4"
		}
		_, err := db.ExecContext(ctx, q)
		return err
	})
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name if it exists. On PostgreSQL other sessions
// connected to it are terminated first.
func DropDatabase(ctx context.Context, t Target, name string) error {
	if err := ValidateName(t.DBType, name); err != nil {
		return err
	}
	err := withDB(ctx, t, maintenanceDB(t, name), func(db *sql.DB) error {
		if t.IsPostgres() {
			return dropPostgres(ctx, db, name)
		}
		_, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+QuoteIdent(t.DBType, name))
		return err
	})
	if err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	return nil
}

func dropPostgres(ctx context.Context, db *sql.DB, name string) error {
	var major int
	if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		return err
	}
	q := "DROP DATABASE IF EXISTS " + QuoteIdent(PostgreSQL, name)
	if major >= 13 {
		_, err := db.ExecContext(ctx, q+" WITH (FORCE)")
		return err
	}
	const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`
	if _, err := db.ExecContext(ctx, terminate, name); err != nil {
		return fmt.Errorf("terminate sessions: %w", err)
	}
	_, err := db.ExecContext(ctx, q)
	return err
}
