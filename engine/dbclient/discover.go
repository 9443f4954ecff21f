package dbclient

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// mysqlSystemDBs are hidden from discovery.
var mysqlSystemDBs = map[string]bool{
	"information_schema": true, "performance_schema": true, "mysql": true, "sys": true,
}

// ListDatabases returns the user databases on the server, ordered by name,
// with their approximate sizes in bytes.
func ListDatabases(ctx context.Context, t Target) ([]DBInfo, error) {
	var out []DBInfo
	err := withDB(ctx, t, connectDB(t), func(db *sql.DB) error {
		var err error
		if t.IsPostgres() {
			out, err = listPostgres(ctx, db)
		} else {
			out, err = listMySQL(ctx, db)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return out, nil
}

// listPostgres lists the databases with their sizes. pg_database_size is
// NULL for a database being dropped at that moment (a restore swap's
// leftovers are dropped in the background): it counts as 0, not an error.
func listPostgres(ctx context.Context, db *sql.DB) ([]DBInfo, error) {
	const q = `SELECT datname,
		CASE WHEN has_database_privilege(oid, 'CONNECT') THEN COALESCE(pg_database_size(oid), 0) ELSE 0 END
		FROM pg_database WHERE NOT datistemplate ORDER BY datname`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DBInfo
	for rows.Next() {
		var d DBInfo
		if err := rows.Scan(&d.Name, &d.SizeBytes); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func listMySQL(ctx context.Context, db *sql.DB) ([]DBInfo, error) {
	names, err := queryStrings(ctx, db, "SHOW DATABASES")
	if err != nil {
		return nil, err
	}
	sizes, err := mysqlSizes(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []DBInfo
	for _, n := range names {
		if mysqlSystemDBs[strings.ToLower(n)] || strings.HasPrefix(n, "_") {
			continue
		}
		out = append(out, DBInfo{Name: n, SizeBytes: sizes[n]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func mysqlSizes(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	const q = `SELECT table_schema, CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED)
		FROM information_schema.tables GROUP BY table_schema`
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sizes := map[string]int64{}
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			return nil, err
		}
		sizes[name] = size
	}
	return sizes, rows.Err()
}

// TableCounts returns exact row counts per table of database name: keys are
// "schema.table" on PostgreSQL (system schemas excluded; partitioned tables
// are counted through their parent) and "table" on MySQL/MariaDB.
func TableCounts(ctx context.Context, t Target, name string) (map[string]int64, error) {
	counts := map[string]int64{}
	err := withDB(ctx, t, name, func(db *sql.DB) error {
		tables, err := listTables(ctx, db, t.DBType, name)
		if err != nil {
			return err
		}
		for _, tb := range tables {
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tb.quoted).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", tb.key, err)
			}
			counts[tb.key] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("table counts of %q: %w", name, err)
	}
	return counts, nil
}

// TableNames returns the user tables of database name, keyed as in
// TableCounts, without counting their rows.
func TableNames(ctx context.Context, t Target, name string) ([]string, error) {
	var names []string
	err := withDB(ctx, t, name, func(db *sql.DB) error {
		tables, err := listTables(ctx, db, t.DBType, name)
		for _, tb := range tables {
			names = append(names, tb.key)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tables of %q: %w", name, err)
	}
	return names, nil
}

type table struct{ key, quoted string }

// pgTablesQuery lists the user tables of a PostgreSQL database (partitioned
// tables through their parent).
const pgTablesQuery = `SELECT n.nspname, c.relname FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
	AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
	ORDER BY 1, 2`

func pgTable(schema, rel string) table {
	return table{key: schema + "." + rel, quoted: QuoteIdent(PostgreSQL, schema) + "." + QuoteIdent(PostgreSQL, rel)}
}

func listTables(ctx context.Context, db *sql.DB, dbType, name string) ([]table, error) {
	if dbType == PostgreSQL {
		return scanTables(ctx, db, pgTablesQuery, pgTable)
	}
	// Tables that hold no rows of their own are left out: a MERGE table's
	// rows are its underlying tables', a FEDERATED table's live elsewhere.
	const q = `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema = ? AND table_type = 'BASE TABLE'
		AND (engine IS NULL OR UPPER(engine) NOT IN ('MRG_MYISAM', 'FEDERATED'))
		ORDER BY table_name`
	return scanTables(ctx, db, q, func(s, r string) table {
		return table{key: r, quoted: QuoteIdent(dbType, s) + "." + QuoteIdent(dbType, r)}
	}, name)
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func scanTables(ctx context.Context, db queryer, q string, mk func(schema, rel string) table, args ...any) ([]table, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []table
	for rows.Next() {
		var s, r string
		if err := rows.Scan(&s, &r); err != nil {
			return nil, err
		}
		out = append(out, mk(s, r))
	}
	return out, rows.Err()
}

func queryStrings(ctx context.Context, db querier, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// querier is a *sql.DB or a *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}
