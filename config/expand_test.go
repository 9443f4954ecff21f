package config

import (
	"errors"
	"io/fs"
	"testing"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "EMPTY": "", "SECRET": "a: b # c"}
	files := map[string]string{"/s/tok": "token\n", "/cfg/rel": "relative\r\n"}
	e := &expander{
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		readFile: func(p string) ([]byte, error) {
			if v, ok := files[p]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		dir: "/cfg",
	}
	tests := []struct {
		in, want   string
		hasRef     bool
		unresolved int
		wantErr    bool
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha", hasRef: true},
		{in: "x-${A}-y", want: "x-alpha-y", hasRef: true},
		{in: "$${A}", want: "${A}"},
		{in: "a$$b$", want: "a$b$"},
		{in: "price $5", want: "price $5"},
		{in: "${MISSING:-dflt}", want: "dflt", hasRef: true},
		{in: "${EMPTY:-dflt}", want: "dflt", hasRef: true},
		{in: "${EMPTY}", want: "", hasRef: true},
		{in: "${SECRET}", want: "a: b # c", hasRef: true},
		{in: "${file:/s/tok}", want: "token", hasRef: true},
		{in: "${file:rel}", want: "relative", hasRef: true},
		{in: "${MISSING}", want: "", hasRef: true, unresolved: 1},
		{in: "${MISSING}${file:/nope}", want: "", hasRef: true, unresolved: 2},
		{in: "${A", wantErr: true},
		{in: "${}", wantErr: true},
		{in: "${9X}", wantErr: true},
		{in: "${file:}", wantErr: true},
	}
	for _, tt := range tests {
		got, err := e.expand(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("expand(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got.value != tt.want || got.hasRef != tt.hasRef || len(got.unresolved) != tt.unresolved {
			t.Errorf("expand(%q) = %+v, want value %q hasRef %v unresolved %d", tt.in, got, tt.want, tt.hasRef, tt.unresolved)
		}
	}
}

func TestExpandUnresolvedNamesTheReference(t *testing.T) {
	e := &expander{
		lookupEnv: func(string) (string, bool) { return "", false },
		readFile:  func(string) ([]byte, error) { return nil, errors.New("denied") },
	}
	got, err := e.expand("${DB_PASS}:${file:/run/secrets/x}")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.unresolved) != 2 || got.unresolved[0] != "environment variable DB_PASS is not set" ||
		got.unresolved[1] != "cannot read file /run/secrets/x: denied" {
		t.Errorf("unresolved = %q", got.unresolved)
	}
}
