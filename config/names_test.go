package config

import (
	"strings"
	"testing"
)

func TestCheckNameInvisible(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string // "" means accepted
	}{
		{"ascii", "production-postgres", ""},
		{"inner space", "prod db", ""},
		{"accents", "données-prod", ""},
		{"cjk", "本番データベース", ""},
		{"rtl script", "نسخ-احتياطي", ""},
		{"RLO", "pg\u202egpj.exe", "U+202E at character 3"},
		{"LRE", "\u202aname", "U+202A at character 1"},
		{"PDF", "name\u202c", "U+202C at character 5"},
		{"LRI", "a\u2066b", "U+2066"},
		{"PDI", "a\u2069b", "U+2069"},
		{"RLM", "a\u200fb", "U+200F"},
		{"ALM", "a\u061cb", "U+061C"},
		{"zero-width space", "a\u200bb", "U+200B"},
		{"zero-width joiner", "a\u200db", "U+200D"},
		{"BOM", "\ufeffname", "U+FEFF"},
		{"soft hyphen", "back\u00adup", "U+00AD"},
		{"tag character", "a\U000E0041", "U+E0041"},
		{"hangul filler", "a\u3164b", "U+3164"},
		{"variation selector", "a\ufe0fb", "U+FE0F"},
		{"no-break space", "a\u00a0b", "U+00A0"},
		{"ideographic space", "a\u3000b", "U+3000"},
		{"line separator", "a\u2028b", "U+2028"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckName(%q) = %v, want accepted", tt.in, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("CheckName(%q) accepted, want an error containing %q", tt.in, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("CheckName(%q) = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}
