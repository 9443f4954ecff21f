package dump

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"

	"github.com/jagad/jagad/state/logbuf"
)

// smallDump dumps a one-table database of the given flavour.
func smallDump(t *testing.T, dbType string, server func(testing.TB) *dbtest.Server) []byte {
	t.Helper()
	s := server(t)
	db := s.CreateDB(t, "small")
	s.Exec(t, db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x'), (2, NULL);")
	var out bytes.Buffer
	if _, err := Dump(testCtx(t), target(s, dbType, db), Tools{}, &out, nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCheckReadable(t *testing.T) {
	pg := smallDump(t, dbclient.PostgreSQL, dbtest.Postgres)
	my := smallDump(t, dbclient.MariaDB, dbtest.MariaDB)
	noTrailer := my[:bytes.LastIndex(my, []byte("-- Dump completed"))]
	tests := []struct {
		name    string
		dbType  string
		input   []byte
		wantErr string
	}{
		{"pg good", dbclient.PostgreSQL, pg, ""},
		{"pg truncated header", dbclient.PostgreSQL, pg[:40], "pg_restore exited with status 1"},
		{"pg garbage", dbclient.PostgreSQL, []byte("this is not an archive at all\n"), "pg_restore exited with status 1"},
		{"pg sql dump", dbclient.PostgreSQL, my, "pg_restore exited"},
		{"pg empty", dbclient.PostgreSQL, nil, "pg_restore exited"},
		{"mysql good", dbclient.MySQL, my, ""},
		{"mariadb good", dbclient.MariaDB, my, ""},
		{"mysql no trailer", dbclient.MySQL, noTrailer, "trailer"},
		{"mysql trailer then garbage", dbclient.MariaDB, append(append([]byte{}, my...), "DROP TABLE t;\n"...), "trailer"},
		{"mysql empty", dbclient.MySQL, nil, "empty"},
		{"unknown type", "oracle", my, "unsupported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.input)
			err := CheckReadable(testCtx(t), tc.dbType, Tools{}, r)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckReadable: %v", err)
				}
				if r.Len() != 0 {
					t.Fatalf("%d bytes left unread", r.Len())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		for _, typ := range []string{dbclient.PostgreSQL, dbclient.MySQL} {
			r := io.MultiReader(bytes.NewReader(pg[:10]), errReader{boom})
			if err := CheckReadable(testCtx(t), typ, Tools{}, r); !errors.Is(err, boom) {
				t.Errorf("%s: err = %v, want %v", typ, err, boom)
			}
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestRestoreFailures(t *testing.T) {
	boom := errors.New("source stream broke")
	tests := []struct {
		name    string
		dbType  string
		server  func(testing.TB) *dbtest.Server
		input   func() io.Reader
		wantErr []string
		wantIs  error
	}{
		{name: "pg garbage", dbType: dbclient.PostgreSQL, server: dbtest.Postgres,
			input:   func() io.Reader { return strings.NewReader("not an archive") },
			wantErr: []string{"pg_restore exited with status 1", "pg_restore: error:"}},
		{name: "mariadb sql error", dbType: dbclient.MariaDB, server: dbtest.MariaDB,
			input: func() io.Reader {
				return strings.NewReader("CREATE TABLE ok1 (id int);\nINSERT INTO nosuch VALUES (1);\n-- Dump completed on x\n")
			},
			wantErr: []string{"exited with status 1", "nosuch' doesn't exist"}},
		{name: "mysql no trailer", dbType: dbclient.MySQL, server: dbtest.MariaDB,
			input:   func() io.Reader { return strings.NewReader("CREATE TABLE ok2 (id int);\n") },
			wantErr: []string{"trailer"}},
		{name: "mysql empty", dbType: dbclient.MySQL, server: dbtest.MariaDB,
			input:   func() io.Reader { return strings.NewReader("") },
			wantErr: []string{"empty input"}},
		{name: "mariadb input breaks", dbType: dbclient.MariaDB, server: dbtest.MariaDB,
			input: func() io.Reader {
				return io.MultiReader(strings.NewReader("CREATE TABLE ok3 (id int);\n"), errReader{boom})
			},
			wantIs: boom},
		{name: "pg input breaks", dbType: dbclient.PostgreSQL, server: dbtest.Postgres,
			input:  func() io.Reader { return io.MultiReader(strings.NewReader("PGDMP"), errReader{boom}) },
			wantIs: boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server(t)
			db := s.CreateDB(t, "rf")
			log := &logbuf.Buffer{}
			err := Restore(testCtx(t), target(s, tc.dbType, db), Tools{}, RestoreOptions{}, tc.input(), log)
			if err == nil {
				t.Fatalf("restore succeeded; log:\n%s", log)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err = %v, want %v", err, tc.wantIs)
			}
			if !strings.Contains(log.String(), "RESTORE ERROR:") {
				t.Errorf("log lacks the error:\n%s", log)
			}
		})
	}
	t.Run("missing tool", func(t *testing.T) {
		s := dbtest.MariaDB(t)
		err := Restore(testCtx(t), target(s, dbclient.MariaDB, "x"), Tools{Mysql: "/nonexistent/mysql"}, RestoreOptions{}, strings.NewReader("x"), nil)
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/mysql") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestUnits(t *testing.T) {
	t.Run("tail trailer", func(t *testing.T) {
		tests := []struct {
			writes []string
			want   bool
		}{
			{[]string{"a\n-- Dump completed on 2026-01-01 00:00:00\n"}, true},
			{[]string{"a\n-- Dump comp", "leted\n\n"}, true},
			{[]string{strings.Repeat("x", 10000) + "\n-- Dump completed\n"}, true},
			{[]string{"-- Dump completed\n", strings.Repeat("y", 600)}, false},
			{[]string{"-- Dump completed\nSELECT 1;\n"}, false},
			{nil, false},
		}
		for i, tc := range tests {
			var tb tailBuf
			for _, w := range tc.writes {
				_, _ = tb.Write([]byte(w))
			}
			if got := tb.hasTrailer(); got != tc.want || len(tb.buf) > tailSize {
				t.Errorf("#%d: hasTrailer = %v (buf %d), want %v", i, got, len(tb.buf), tc.want)
			}
		}
	})
	t.Run("pg major", func(t *testing.T) {
		tests := []struct {
			in   string
			want int
		}{
			{"pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", 1500},
			{"15.19", 1500}, {"16.2", 1600}, {"9.6.24", 906}, {"pg_dump (PostgreSQL) 17devel", 1700},
		}
		for _, tc := range tests {
			if got, ok := pgMajor(tc.in); !ok || got != tc.want {
				t.Errorf("pgMajor(%q) = %d, %v; want %d", tc.in, got, ok, tc.want)
			}
		}
		if _, ok := pgMajor("garbage"); ok {
			t.Error("pgMajor(garbage) ok")
		}
	})
	t.Run("ssl args", func(t *testing.T) {
		tests := []struct {
			mode    string
			mariadb bool
			want    string
		}{
			{"disable", true, "--skip-ssl"}, {"true", true, "--ssl --ssl-verify-server-cert"},
			{"skip-verify", true, "--ssl --skip-ssl-verify-server-cert"}, {"", true, ""},
			{"false", false, "--ssl-mode=DISABLED"}, {"require", false, "--ssl-mode=VERIFY_IDENTITY"},
			{"skip-verify", false, "--ssl-mode=REQUIRED"}, {"preferred", false, "--ssl-mode=PREFERRED"},
		}
		for _, tc := range tests {
			got, err := mysqlSSLArgs(tc.mode, tc.mariadb)
			if err != nil || strings.Join(got, " ") != tc.want {
				t.Errorf("mysqlSSLArgs(%q, %v) = %q, %v; want %q", tc.mode, tc.mariadb, got, err, tc.want)
			}
		}
		if _, err := mysqlSSLArgs("verify-full", true); err == nil {
			t.Error("unknown mode accepted")
		}
	})
	t.Run("extension", func(t *testing.T) {
		if Extension(dbclient.PostgreSQL) != ".pgdump" || Extension(dbclient.MySQL) != ".sql" || Extension(dbclient.MariaDB) != ".sql" {
			t.Error("wrong extensions")
		}
	})
	t.Run("scrub forms", func(t *testing.T) {
		got := scrub(`p\:w and "p\\:w" and p\:w`, secretForms(`p\:w`))
		if strings.Contains(got, `p\:w`) || strings.Contains(got, `p\\:w`) {
			t.Errorf("scrub left a form: %q", got)
		}
	})
}
