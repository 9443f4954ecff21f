// Package dbclient performs driver-level operations against PostgreSQL, MySQL
// and MariaDB servers: connection tests, database discovery, server versions,
// creating and dropping databases and exact row counts.
//
// Every function opens its own short-lived connection; nothing is pooled
// across calls. Errors never contain the password.
package dbclient

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Database types understood by this package.
const (
	PostgreSQL = "postgresql"
	MySQL      = "mysql"
	MariaDB    = "mariadb"
)

// connectTimeout bounds establishing a connection (TCP + TLS + auth).
const connectTimeout = 5 * time.Second

// Target is one database server and, optionally, one database on it.
type Target struct {
	DBType   string // postgresql | mysql | mariadb
	Host     string
	Port     int // 0: the db_type's default port
	User     string
	Password string
	SSLMode  string // PostgreSQL sslmode; MySQL/MariaDB false|disable, true|require, skip-verify, preferred|prefer
	Database string // optional for server-level operations
}

// DBInfo is one database discovered on a server.
type DBInfo struct {
	Name      string
	SizeBytes int64
}

// IsPostgres reports whether the target is a PostgreSQL server.
func (t Target) IsPostgres() bool { return t.DBType == PostgreSQL }

// EffectivePort returns the port, defaulting by db_type when zero.
func (t Target) EffectivePort() int {
	if t.Port != 0 {
		return t.Port
	}
	if t.IsPostgres() {
		return 5432
	}
	return 3306
}

// Addr is host:port (IPv6 hosts bracketed).
func (t Target) Addr() string {
	return net.JoinHostPort(t.Host, strconv.Itoa(t.EffectivePort()))
}

// Validate checks the fields every operation needs.
func (t Target) Validate() error {
	switch t.DBType {
	case PostgreSQL, MySQL, MariaDB:
	default:
		return fmt.Errorf("unsupported database type: %q", t.DBType)
	}
	if t.Host == "" {
		return errors.New("host is required")
	}
	if t.Port < 0 || t.Port > 65535 {
		return fmt.Errorf("invalid port %d", t.Port)
	}
	if t.User == "" {
		return errors.New("username is required")
	}
	if _, err := MySQLTLS(t.SSLMode); err != nil && !t.IsPostgres() {
		return err
	}
	return nil
}

// MySQLTLS maps a connection's ssl_mode to the go-sql-driver/mysql tls value:
// "false", "true", "skip-verify" or "preferred".
func MySQLTLS(mode string) (string, error) {
	switch strings.ToLower(mode) {
	case "", "preferred", "prefer":
		return "preferred", nil
	case "false", "disable", "disabled":
		return "false", nil
	case "true", "require", "required":
		return "true", nil
	case "skip-verify":
		return "skip-verify", nil
	default:
		return "", fmt.Errorf("unsupported ssl_mode %q for mysql/mariadb (want false, true, skip-verify or preferred)", mode)
	}
}

// ValidateName rejects database names no server accepts and that could not
// be passed safely to a tool: empty, NUL bytes, longer than 63 bytes (PG)
// or 64 characters (MySQL).
func ValidateName(dbType, name string) error {
	if name == "" {
		return errors.New("database name is empty")
	}
	if strings.ContainsRune(name, 0) {
		return fmt.Errorf("database name %q contains a NUL byte", name)
	}
	if dbType == PostgreSQL && len(name) > 63 {
		return fmt.Errorf("database name %q is longer than 63 bytes", name)
	}
	if dbType != PostgreSQL {
		if len([]rune(name)) > 64 {
			return fmt.Errorf("database name %q is longer than 64 characters", name)
		}
		if strings.HasSuffix(name, " ") {
			return fmt.Errorf("database name %q ends with a space", name)
		}
	}
	return nil
}

// QuoteIdent quotes one identifier for the target's SQL dialect; any
// character (quotes, backticks, leading dashes) is safe inside the result.
func QuoteIdent(dbType, name string) string {
	if dbType == PostgreSQL {
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// Scrub replaces every occurrence of secret in s with <redacted>.
func Scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "<redacted>")
}

// scrubErr returns err unchanged when its text does not contain the secret,
// otherwise a plain error with the secret replaced.
func scrubErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(Scrub(err.Error(), secret))
}
