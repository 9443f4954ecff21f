package dbclient

import "testing"

func TestNormalizeVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"15.19 (Debian 15.19-0+deb12u1)", "15.19"},
		{"16.2", "16.2"},
		{"10.11.19-MariaDB-0+deb12u1", "10.11.19-MariaDB"},
		{"11.4.2-MariaDB-log", "11.4.2-MariaDB"},
		{"8.0.36-0ubuntu0.22.04.1", "8.0.36"},
		{"8.4.0", "8.4.0"},
	}
	for _, tc := range tests {
		if got := normalizeVersion(tc.in); got != tc.want {
			t.Errorf("normalizeVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMySQLTLS(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "preferred", false}, {"prefer", "preferred", false}, {"preferred", "preferred", false},
		{"false", "false", false}, {"disable", "false", false},
		{"true", "true", false}, {"require", "true", false},
		{"skip-verify", "skip-verify", false}, {"verify-full", "", true},
	}
	for _, tc := range tests {
		got, err := MySQLTLS(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("MySQLTLS(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Target{DBType: PostgreSQL, Host: "h", User: "u"}
	tests := []struct {
		name    string
		mod     func(*Target)
		wantErr bool
	}{
		{"ok", func(*Target) {}, false},
		{"bad type", func(t *Target) { t.DBType = "oracle" }, true},
		{"no host", func(t *Target) { t.Host = "" }, true},
		{"no user", func(t *Target) { t.User = "" }, true},
		{"bad port", func(t *Target) { t.Port = 70000 }, true},
		{"mysql bad ssl", func(t *Target) { t.DBType = MySQL; t.SSLMode = "verify-full" }, true},
		{"pg any sslmode passes through", func(t *Target) { t.SSLMode = "verify-full" }, false},
	}
	for _, tc := range tests {
		tg := ok
		tc.mod(&tg)
		if err := tg.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("%s: Validate() = %v, wantErr %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestValidateNameAndQuote(t *testing.T) {
	for _, n := range []string{"", "a\x00b"} {
		if ValidateName(PostgreSQL, n) == nil {
			t.Errorf("ValidateName(%q) accepted", n)
		}
	}
	if ValidateName(MySQL, "trailing ") == nil {
		t.Error("mysql name with a trailing space accepted")
	}
	if got := QuoteIdent(PostgreSQL, `a"b`); got != `"a""b"` {
		t.Errorf("pg quote = %s", got)
	}
	if got := QuoteIdent(MariaDB, "a`b"); got != "`a``b`" {
		t.Errorf("mysql quote = %s", got)
	}
	if got := ConninfoQuote(`it's \x`); got != `'it\'s \\x'` {
		t.Errorf("conninfo quote = %s", got)
	}
}
