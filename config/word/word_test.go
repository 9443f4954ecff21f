package word

import "testing"

func TestReplace(t *testing.T) {
	tests := []struct {
		name         string
		s, old, repl string
		inWord       Byte
		want         string
	}{
		{"alone", "pw", "pw", "X", Alnum, "X"},
		{"between spaces", "a pw b", "pw", "X", Alnum, "a X b"},
		{"punctuation around", `"pw",pw;(pw)`, "pw", "X", Alnum, `"X",X;(X)`},
		{"inside a word", "pwd newpw pwned", "pw", "X", Alnum, "pwd newpw pwned"},
		{"digit glued", "pw1 2pw", "pw", "X", Alnum, "pw1 2pw"},
		{"non-ASCII glued", "épw pwé", "pw", "X", Alnum, "épw pwé"},
		{"underscore: Alnum replaces", "pw_x x_pw", "pw", "X", Alnum, "X_x x_X"},
		{"underscore: Ident keeps", "pw_x x_pw", "pw", "X", Ident, "pw_x x_pw"},
		{"glued then alone", "apw pw", "pw", "X", Alnum, "apw X"},
		{"self-overlap inside a word", "aaa", "aa", "X", Alnum, "aaa"},
		{"overlap after a glued one", "xa-a-a", "a-a", "X", Alnum, "xa-X"},
		{"adjacent occurrences", "pw pw", "pw", "X", Alnum, "X X"},
		{"not present", "nothing here", "pw", "X", Alnum, "nothing here"},
		{"empty old", "abc", "", "X", Alnum, "abc"},
		{"empty s", "", "pw", "X", Alnum, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Replace(tt.s, tt.old, tt.repl, tt.inWord); got != tt.want {
				t.Errorf("Replace(%q, %q) = %q, want %q", tt.s, tt.old, got, tt.want)
			}
		})
	}
}
