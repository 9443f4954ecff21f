package storage_test

import (
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/storage"
)

func TestSafeKey(t *testing.T) {
	tests := []struct {
		name    string
		parts   []string
		want    string
		wantErr bool
	}{
		{"backup key", []string{"backups", "Production PG", "mydb", "bck_1-20250101-020000.pgdump.zst.jgd"}, "backups/Production PG/mydb/bck_1-20250101-020000.pgdump.zst.jgd", false},
		{"slash in a name stays one segment", []string{"backups", "eu/prod", "db"}, "backups/eu_prod/db", false},
		{"backslash", []string{"backups", `a\b`}, "backups/a_b", false},
		{"leading slash", []string{"/backups", "x"}, "_backups/x", false},
		{"dots inside a name", []string{"backups", "a..b", ".hidden"}, "backups/a..b/.hidden", false},
		{"unicode", []string{"backups", "база", "日本"}, "backups/база/日本", false},
		{"dot-dot", []string{"backups", "..", "x"}, "", true},
		{"dot", []string{"backups", ".", "x"}, "", true},
		{"empty part", []string{"backups", "", "x"}, "", true},
		{"no parts", nil, "", true},
		{"newline", []string{"backups", "a\nb"}, "", true},
		{"NUL", []string{"backups", "a\x00b"}, "", true},
		{"DEL", []string{"backups", "a\x7fb"}, "", true},
		{"invalid UTF-8", []string{"backups", "a\xffb"}, "", true},
		{"temp file name", []string{"backups", ".x.tmp-123"}, "", true},
		{"too long", []string{"backups", strings.Repeat("a", 1100)}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := storage.SafeKey(tt.parts...)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("SafeKey(%q) = %q, %v; want %q, error %v", tt.parts, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
