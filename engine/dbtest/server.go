package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/jagad/jagad/engine/dbclient"
)

// Server is a database server for tests. DBType is "postgresql" or
// "mariadb"; the credentials have full (superuser/root) rights.
type Server struct {
	DBType   string
	Host     string
	Port     int
	User     string
	Password string
	AdminDB  string // PostgreSQL: database for server-level statements

	mu    sync.Mutex
	pools map[string]*sql.DB // per database, for Exec and Checksum
}

func newServer(dbType, host string, port int, user, pw, adminDB string) *Server {
	return &Server{DBType: dbType, Host: host, Port: port, User: user, Password: pw,
		AdminDB: adminDB, pools: map[string]*sql.DB{}}
}

// Target is a dbclient target for database db on this server (db may be
// empty for server-level operations).
func (s *Server) Target(db string) dbclient.Target {
	t := dbclient.Target{DBType: s.DBType, Host: s.Host, Port: s.Port, User: s.User,
		Password: s.Password, Database: db}
	if t.Database == "" && s.DBType == dbclient.PostgreSQL {
		t.Database = s.AdminDB
	}
	return t
}

// CreateDB creates a database named prefix_<random> and drops it when the
// test ends. The prefix is used as is (quoted), so hostile names work.
func (s *Server) CreateDB(tb testing.TB, prefix string) string {
	tb.Helper()
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dbclient.CreateDatabase(ctx, s.Target(""), name); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	tb.Cleanup(func() { s.DropDB(tb, name) })
	return name
}

// DropDB closes this helper's connections to db and drops it.
func (s *Server) DropDB(tb testing.TB, name string) {
	tb.Helper()
	s.mu.Lock()
	if p := s.pools[name]; p != nil {
		_ = p.Close()
		delete(s.pools, name)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dbclient.DropDatabase(ctx, s.Target(""), name); err != nil {
		tb.Errorf("dbtest: %v", err)
	}
}

// DB returns a pooled connection to database db (multi-statement SQL allowed).
func (s *Server) DB(tb testing.TB, db string) *sql.DB {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pools[db]; p != nil {
		return p
	}
	p, err := s.open(db)
	if err != nil {
		tb.Fatalf("dbtest: open %q: %v", db, err)
	}
	s.pools[db] = p
	return p
}

// closePools closes every pool DB handed out.
func (s *Server) closePools() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, p := range s.pools {
		_ = p.Close()
		delete(s.pools, name)
	}
}

func (s *Server) open(db string) (*sql.DB, error) {
	if s.DBType == dbclient.PostgreSQL {
		if db == "" {
			db = s.AdminDB
		}
		cfg, err := s.pgConnConfig(db)
		if err != nil {
			return nil, err
		}
		return stdlib.OpenDB(*cfg), nil
	}
	cfg, err := dbclient.MySQLConfig(s.Target(db), db)
	if err != nil {
		return nil, err
	}
	cfg.MultiStatements = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Exec runs SQL (several statements allowed) in database db.
func (s *Server) Exec(tb testing.TB, db, query string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := s.DB(tb, db).ExecContext(ctx, query); err != nil {
		tb.Fatalf("dbtest: exec in %q: %v\n%s", db, err, query)
	}
}

// Checksum returns, per table, "rows=N sha256=..." over the table's content.
// Rows are hashed one by one and the sorted row hashes hashed again, so the
// result does not depend on physical order (equivalent to ordering by all
// columns, and works for column types without an ordering). Keys are
// "schema.table" on PostgreSQL and "table" on MariaDB.
func (s *Server) Checksum(tb testing.TB, db string) map[string]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := s.DB(tb, db)
	tables, err := s.tables(ctx, conn, db)
	if err != nil {
		tb.Fatalf("dbtest: list tables of %q: %v", db, err)
	}
	out := make(map[string]string, len(tables))
	for _, t := range tables {
		sum, err := s.tableSum(ctx, conn, t)
		if err != nil {
			tb.Fatalf("dbtest: checksum %s: %v", t.key, err)
		}
		out[t.key] = sum
	}
	return out
}

type tableRef struct{ key, quoted string }

func (s *Server) tables(ctx context.Context, conn *sql.DB, db string) ([]tableRef, error) {
	q, args := `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_schema = ? AND table_type = 'BASE TABLE'`, []any{db}
	if s.DBType == dbclient.PostgreSQL {
		q, args = `SELECT n.nspname, c.relname FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			AND n.nspname NOT LIKE 'pg\_%'`, nil
	}
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tableRef
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			return nil, err
		}
		ref := tableRef{key: name, quoted: dbclient.QuoteIdent(s.DBType, schema) + "." + dbclient.QuoteIdent(s.DBType, name)}
		if s.DBType == dbclient.PostgreSQL {
			ref.key = schema + "." + name
		}
		out = append(out, ref)
	}
	return out, rows.Err()
}

func (s *Server) tableSum(ctx context.Context, conn *sql.DB, t tableRef) (string, error) {
	q := "SELECT * FROM " + t.quoted
	if s.DBType == dbclient.PostgreSQL {
		q = "SELECT jagad_row::text FROM " + t.quoted + " AS jagad_row"
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var rowSums [][sha256.Size]byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		h := sha256.New()
		for _, v := range vals {
			writeField(h, v)
		}
		var sum [sha256.Size]byte
		copy(sum[:], h.Sum(nil))
		rowSums = append(rowSums, sum)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	sort.Slice(rowSums, func(i, j int) bool { return string(rowSums[i][:]) < string(rowSums[j][:]) })
	all := sha256.New()
	for _, r := range rowSums {
		all.Write(r[:])
	}
	return fmt.Sprintf("rows=%d sha256=%x", len(rowSums), all.Sum(nil)), nil
}

// writeField hashes a value with a NULL marker and a length prefix, so NULL,
// "" and shifted boundaries all hash differently.
func writeField(h hash.Hash, v sql.RawBytes) {
	if v == nil {
		h.Write([]byte{0})
		return
	}
	var n [9]byte
	n[0] = 1
	binary.BigEndian.PutUint64(n[1:], uint64(len(v)))
	h.Write(n[:])
	h.Write(v)
}
