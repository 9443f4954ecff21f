package web

import (
	"reflect"
	"testing"
)

func TestSplitError(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []errLine
	}{
		{"empty", "", nil},
		{"file line col", `jagad.yaml:12:5: bad cron "x"`, []errLine{{"jagad.yaml:12:5", `bad cron "x"`}}},
		{"absolute path", "/etc/jagad/jagad.yaml:3:1: unknown key", []errLine{{"/etc/jagad/jagad.yaml:3:1", "unknown key"}}},
		{"prefix kept", "load config: jagad.yaml:7:9: dangling reference",
			[]errLine{{"jagad.yaml:7:9", "load config: dangling reference"}}},
		{"no location", "read jagad.yaml: permission denied", []errLine{{"", "read jagad.yaml: permission denied"}}},
		{"line but no col", "jagad.yaml:7: x", []errLine{{"", "jagad.yaml:7: x"}}},
		{"two lines", "a.yaml:1:2: one\nb.yaml:3:4: two",
			[]errLine{{"a.yaml:1:2", "one"}, {"b.yaml:3:4", "two"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := splitError(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("splitError(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/backups?x=1": "/backups?x=1", "": "/", "//evil.example": "/", "https://evil.example": "/",
		"/\\evil.example": "/", "/api/auth/logout": "/", "backups": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
