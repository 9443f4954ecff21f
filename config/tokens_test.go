package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateToken(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	secret := "jgd_" + strings.Repeat("Q", 43)
	tests := []struct {
		name    string
		in      Token
		wantErr []string // fields with an error
	}{
		{"minimal", Token{Name: "ci", Scope: "read", Hash: good}, nil},
		{"expiring", Token{Name: "ci", Scope: "admin", Hash: good, ExpiresAt: "2027-01-01T02:00:00+02:00"}, nil},
		{"no scope", Token{Name: "ci", Hash: good}, []string{"scope"}},
		{"unknown scope", Token{Name: "ci", Scope: "write", Hash: good}, []string{"scope"}},
		{"no hash", Token{Name: "ci", Scope: "read"}, []string{"hash"}},
		{"uppercase hex", Token{Name: "ci", Scope: "read", Hash: strings.ToUpper(good)}, []string{"hash"}},
		{"short hash", Token{Name: "ci", Scope: "read", Hash: good[:70]}, []string{"hash"}},
		{"secret as hash", Token{Name: "ci", Scope: "read", Hash: secret}, []string{"hash"}},
		{"secret as name", Token{Name: secret, Scope: "read", Hash: good}, []string{"name"}},
		{"bad name", Token{Name: "a/b", Scope: "read", Hash: good}, []string{"name"}},
		{"date only", Token{Name: "ci", Scope: "read", Hash: good, ExpiresAt: "2027-01-01"}, []string{"expires_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range ValidateToken(tt.in) {
				got = append(got, e.Field)
				if strings.Contains(e.Message, secret) || strings.Contains(e.Message, good) {
					t.Errorf("%s: the message quotes the value: %s", e.Field, e.Message)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.wantErr, ",") {
				t.Errorf("errors on %v, want %v", got, tt.wantErr)
			}
		})
	}
	exp, err := Token{ExpiresAt: "2027-01-01T02:00:00+02:00"}.Expiry()
	if err != nil || exp == nil || !exp.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || exp.Location() != time.UTC {
		t.Errorf("Expiry: %v, %v; want 2027-01-01T00:00:00Z in UTC", exp, err)
	}
	if exp, err := (Token{}).Expiry(); exp != nil || err != nil {
		t.Errorf("no expires_at: %v, %v; want nil, nil", exp, err)
	}
}
