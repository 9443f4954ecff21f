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
	ID     string           // for pg_dump --snapshot
	Counts map[string]int64 // exact row counts in the snapshot
	pool   *sql.DB
	conn   *sql.Conn
	tx     *sql.Tx
}

// ExportSnapshot opens a repeatable-read, read-only transaction on database
// name of a PostgreSQL server, exports its snapshot and counts every table's
// rows in it.
func ExportSnapshot(ctx context.Context, t Target, name string) (*Snapshot, error) {
	if !t.IsPostgres() {
		return nil, fmt.Errorf("snapshot export needs postgresql, not %s", t.DBType)
	}
	pool, err := open(ctx, t, name)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{pool: pool, Counts: map[string]int64{}}
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
	tables, err := scanTables(ctx, s.tx, pgTablesQuery, pgTable)
	if err != nil {
		return fail(err)
	}
	for _, tb := range tables {
		var n int64
		if err := s.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tb.quoted).Scan(&n); err != nil {
			return fail(fmt.Errorf("count %s: %w", tb.key, err))
		}
		s.Counts[tb.key] = n
	}
	return s, nil
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
