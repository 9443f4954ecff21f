package cron

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the test names a zone; do not depend on the host's zoneinfo
)

func TestParse(t *testing.T) {
	tests := []struct {
		expr    string
		wantErr string
	}{
		{"0 2 * * *", ""},
		{"*/15 * * * 1-5", ""},
		{"0 0 29 2 *", ""},
		{"@hourly", ""}, {"@daily", ""}, {"@midnight", ""}, {"@weekly", ""}, {"@monthly", ""}, {"@yearly", ""}, {"@annually", ""},
		{"", "empty"},
		{"0 0 2 * * *", "6 fields"},
		{"* * * *", "4 fields"},
		{"@every 1h", "@every"},
		{"@reboot", "unknown descriptor"},
		{"CRON_TZ=UTC 0 2 * * *", "TZ prefix"},
		{"60 * * * *", "above maximum"},
		{"0 0 31 4 *", "never fires"},
		{"a b c d e", "cron expression"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr, nil)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Parse(%q) = %v", tt.expr, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Parse(%q) = %v, want error containing %q", tt.expr, err, tt.wantErr)
		}
	}
}

func TestParseLocation(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Jakarta") // UTC+7, no DST
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("0 2 * * *", loc)
	if err != nil {
		t.Fatal(err)
	}
	next := s.Next(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 1, 19, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next = %v, want %v (02:00 in Jakarta)", next.UTC(), want)
	}
	u, _ := Parse("0 2 * * *", nil)
	if got := u.Next(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)); got.Hour() != 2 || got.Location() != time.UTC {
		t.Errorf("nil location: next = %v, want 02:00 UTC", got)
	}
}
