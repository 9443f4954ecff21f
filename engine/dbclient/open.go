package dbclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// maintenanceDB is the database a server-level PostgreSQL operation connects
// to: the target's database, unless it is the one being created or dropped.
func maintenanceDB(t Target, avoid string) string {
	if !t.IsPostgres() {
		return ""
	}
	if t.Database != "" && t.Database != avoid {
		return t.Database
	}
	return "postgres"
}

// open returns a single-connection pool to database db (may be empty for
// MySQL) and verifies it with a ping bounded by connectTimeout.
func open(ctx context.Context, t Target, db string) (*sql.DB, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var pool *sql.DB
	if t.IsPostgres() {
		cfg, err := PgConfig(t, db)
		if err != nil {
			return nil, err
		}
		pool = stdlib.OpenDB(*cfg)
	} else {
		cfg, err := MySQLConfig(t, db)
		if err != nil {
			return nil, err
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("mysql config: %w", scrubErr(err, t.Password))
		}
		pool = sql.OpenDB(conn)
	}
	pool.SetMaxOpenConns(1)
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		_ = pool.Close()
		return nil, connectErr(t, err)
	}
	return pool, nil
}

// connectErr formats a connection failure as
// "connect to postgresql at host:port: <server message>" without the password.
func connectErr(t Target, err error) error {
	msg := err.Error()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg = pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	} else if ce := (*pgconn.ConnectError)(nil); errors.As(err, &ce) && ce.Unwrap() != nil {
		msg = ce.Unwrap().Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out after " + connectTimeout.String() + ": " + msg
	}
	return fmt.Errorf("connect to %s at %s: %s", t.DBType, t.Addr(), Scrub(msg, t.Password))
}

// PgConfig builds a pgx connection config for database db. Values are quoted
// so that no field can inject another connection parameter; the password is
// set on the struct, never formatted into a string.
func PgConfig(t Target, db string) (*pgx.ConnConfig, error) {
	mode := t.SSLMode
	if mode == "" {
		mode = "prefer"
	}
	if db == "" {
		db = "postgres"
	}
	dsn := strings.Join([]string{
		"host=" + ConninfoQuote(t.Host),
		"port=" + strconv.Itoa(t.EffectivePort()),
		"user=" + ConninfoQuote(t.User),
		"dbname=" + ConninfoQuote(db),
		"sslmode=" + ConninfoQuote(mode),
		"connect_timeout=" + strconv.Itoa(int(connectTimeout.Seconds())),
	}, " ")
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgresql config: %w", scrubErr(err, t.Password))
	}
	cfg.Password = t.Password
	return cfg, nil
}

// MySQLConfig builds a go-sql-driver/mysql config for database db ("" for
// none).
func MySQLConfig(t Target, db string) (*mysql.Config, error) {
	tlsName, err := MySQLTLS(t.SSLMode)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = t.User
	cfg.Passwd = t.Password
	cfg.Net = "tcp"
	cfg.Addr = t.Addr()
	cfg.DBName = db
	cfg.TLSConfig = tlsName
	cfg.Timeout = connectTimeout
	return cfg, nil
}

// ConninfoQuote quotes a value for a libpq keyword/value connection string.
func ConninfoQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}
