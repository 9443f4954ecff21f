package dump

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// flavour is one db_type under test and the server that serves it.
type flavour struct {
	dbType string
	server func(testing.TB) *dbtest.Server
	tool   string // expected dump tool name in Result.ToolVersion
}

var flavours = []flavour{
	{dbclient.PostgreSQL, dbtest.Postgres, "pg_dump"},
	{dbclient.MySQL, dbtest.MariaDB, "mysqldump"}, // Debian's mysqldump is MariaDB's; db_type mysql picks it first
	{dbclient.MariaDB, dbtest.MariaDB, "mariadb-dump"},
}

func target(s *dbtest.Server, dbType, db string) dbclient.Target {
	t := s.Target(db)
	t.DBType = dbType
	return t
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// needPassword stops a test that exercises password handling when the
// server (from a JAGAD_TEST_*_URL) has none: skipped locally, failed in CI.
func needPassword(t *testing.T, s *dbtest.Server) {
	t.Helper()
	if s.Password != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("test server has no password; password handling cannot be tested (CI=true)")
	}
	t.Skip("test server has no password; password handling cannot be tested")
}

// freshName is a database name that does not exist yet; it is dropped at
// cleanup.
func freshName(t *testing.T, s *dbtest.Server, prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	t.Cleanup(func() { s.DropDB(t, name) })
	return name
}

// fakeTool writes an executable shell script into a temp dir. The script
// answers --version with version and otherwise runs body.
func fakeTool(t *testing.T, name, version, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	script := "#!/bin/sh\nif [ \"$1\" = \"--version\" ]; then echo '" + version + "'; exit 0; fi\n" + body + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	fakePgVersion    = "pg_dump (PostgreSQL) 99.0"
	fakeMySQLVersion = "mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"
)

// loadFixture creates tables with an index, a view, a function and/or a
// procedure, a trigger, unicode text, NULLs, binary bytes and a ~5 MB value.
func loadFixture(t *testing.T, s *dbtest.Server, db string) {
	t.Helper()
	if s.DBType == dbclient.PostgreSQL {
		s.Exec(t, db, pgFixture)
		return
	}
	for _, q := range strings.Split(mysqlFixture, "\n;;\n") {
		s.Exec(t, db, q)
	}
}

const pgFixture = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, note text);
CREATE INDEX customers_name_idx ON customers (name);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id),
  amount numeric(12,2), created_at timestamptz, payload bytea);
CREATE TABLE audit (id serial PRIMARY KEY, msg text);
CREATE TABLE big (id int PRIMARY KEY, content text);
CREATE SCHEMA "other schema";
CREATE TABLE "other schema"."Mixed Case" (k text PRIMARY KEY, v jsonb);
CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit(msg) VALUES ('order ' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION log_order();
CREATE FUNCTION add_tax(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT x * 1.2 $$;
CREATE VIEW customer_totals AS SELECT c.id, c.name, COALESCE(sum(o.amount), 0) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name;
INSERT INTO customers VALUES
  (1, 'Ålice ünïcødé 日本語 🚀', 'a@example.com', NULL),
  (2, 'Bob', NULL, ''),
  (3, E'Ça va? "quoted" \\ back\tslash\nnewline', NULL, 'x');
INSERT INTO orders (customer_id, amount, created_at, payload) VALUES
  (1, 12.50, '2024-01-01T00:00:00Z', '\x00ff0d0a5c27'),
  (2, NULL, '2024-01-02T00:00:00Z', NULL),
  (1, 99999.99, NULL, '\x');
INSERT INTO big SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 163840) g;
INSERT INTO "other schema"."Mixed Case" VALUES ('k1', '{"a": [1, 2, null], "ü": "ß"}'), ('k2', NULL);
`

// mysqlFixture statements are separated by "\n;;\n" (routines contain ';').
const mysqlFixture = `
CREATE TABLE customers (id int PRIMARY KEY, name varchar(200) NOT NULL, email varchar(100), note text,
  KEY customers_name_idx (name)) DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer_id int, amount decimal(12,2),
  created_at datetime, payload varbinary(16), FOREIGN KEY (customer_id) REFERENCES customers(id));
CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, msg text);
CREATE TABLE big (id int PRIMARY KEY, content longtext, bin longblob);
CREATE TABLE ` + "`Mixed Case`" + ` (k varchar(10) PRIMARY KEY, v json)
;;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO audit(msg) VALUES (CONCAT('order ', NEW.id))
;;
CREATE FUNCTION add_tax(x DECIMAL(12,2)) RETURNS DECIMAL(14,4) DETERMINISTIC RETURN x * 1.2
;;
CREATE PROCEDURE count_orders(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM orders; END
;;
CREATE VIEW customer_totals AS SELECT c.id, c.name, COALESCE(SUM(o.amount), 0) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name
;;
INSERT INTO customers VALUES
  (1, 'Ålice ünïcødé 日本語 🚀', 'a@example.com', NULL),
  (2, 'Bob', NULL, ''),
  (3, 'Ça va? "quoted" \\ back\tslash\nnewline', NULL, 'x');
INSERT INTO orders (customer_id, amount, created_at, payload) VALUES
  (1, 12.50, '2024-01-01 00:00:00', UNHEX('00FF0D0A5C27')),
  (2, NULL, '2024-01-02 00:00:00', NULL),
  (1, 99999.99, NULL, '');
INSERT INTO big VALUES (1, REPEAT('0123456789abcdef''"\\;', 262144), UNHEX(REPEAT('00FF1A0D0A275C22', 1000)));
INSERT INTO ` + "`Mixed Case`" + ` VALUES ('k1', '{"a": [1, 2, null], "ü": "ß"}'), ('k2', NULL);
`
