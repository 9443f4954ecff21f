package dbclient

import (
	"context"
	"database/sql"
	"fmt"
)

// Snapshot is an open PostgreSQL transaction whose snapshot was exported, so
// that pg_dump (--snapshot) dumps exactly the data whose row counts it took.
// Close it after the dump tool has finished.
type Snapshot struct {
	ID     string // for pg_dump --snapshot
	name   string
	tables []table
	pool   *sql.DB
	conn   *sql.Conn
	tx     *sql.Tx
}

// ExportSnapshot opens a repeatable-read, read-only transaction on database
// name of a PostgreSQL server, exports its snapshot and lists its tables;
// Count counts their rows in it (while pg_dump dumps the same snapshot).
func ExportSnapshot(ctx context.Context, t Target, name string) (*Snapshot, error) {
	if !t.IsPostgres() {
		return nil, fmt.Errorf("snapshot export needs postgresql, not %s", t.DBType)
	}
	pool, err := open(ctx, t, name)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{pool: pool, name: name}
	fail := func(err error) (*Snapshot, error) {
		s.Close()
		return nil, fmt.Errorf("snapshot of %q: %w", name, err)
	}
	if s.conn, err = pool.Conn(ctx); err != nil {
		return fail(err)
	}
	if s.tx, err = s.conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}); err != nil {
		return fail(err)
	}
	if err := s.tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&s.ID); err != nil {
		return fail(err)
	}
	if s.tables, err = scanTables(ctx, s.tx, pgTablesQuery, pgTable); err != nil {
		return fail(err)
	}
	return s, nil
}

// Tables is the number of tables Count counts.
func (s *Snapshot) Tables() int { return len(s.tables) }

// Count returns the exact row count of every table in the snapshot. It
// scans the whole database, so the dump runs beside it (pg_dump has
// imported the snapshot by then or imports it while the transaction is
// open); not safe for concurrent use with itself or Close.
func (s *Snapshot) Count(ctx context.Context) (map[string]int64, error) {
	counts := make(map[string]int64, len(s.tables))
	for _, tb := range s.tables {
		var n int64
		if err := s.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tb.quoted).Scan(&n); err != nil {
			return nil, fmt.Errorf("row counts of %q: count %s: %w", s.name, tb.key, err)
		}
		counts[tb.key] = n
	}
	return counts, nil
}

// Close ends the transaction and the connection.
func (s *Snapshot) Close() {
	if s.tx != nil {
		_ = s.tx.Rollback()
	}
	if s.conn != nil {
		_ = s.conn.Close()
	}
	if s.pool != nil {
		_ = s.pool.Close()
	}
}
