package config

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"6h", 6 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"0", 0, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"7d12h", 7*24*time.Hour + 12*time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"-1d", -24 * time.Hour, false},
		{" 2h ", 2 * time.Hour, false},
		{"", 0, true},
		{"30", 0, true},
		{"d", 0, true},
		{"1h2d", 0, true},
		{"1d1d", 0, true},
		{"6 hours", 0, true},
		{"1d-2h", 0, true},
		{"1e300d", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDuration(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got.Std() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got.Std(), tt.want)
		}
	}
}

func TestDurationStringRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 90 * time.Minute, 24 * time.Hour,
		7*24*time.Hour + 12*time.Hour, 24*time.Hour + 12*time.Hour + 30*time.Minute, -48 * time.Hour} {
		s := Duration(d).String()
		back, err := ParseDuration(s)
		if err != nil || back.Std() != d {
			t.Errorf("%v -> %q -> %v, %v", d, s, back.Std(), err)
		}
	}
	if got := Duration(30 * 24 * time.Hour).String(); got != "30d" {
		t.Errorf("String() = %q, want 30d", got)
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 2d6h\n"), &v); err != nil || v.D.Std() != 54*time.Hour {
		t.Fatalf("unmarshal = %v, %v", v.D, err)
	}
	out, err := yaml.Marshal(v)
	if err != nil || string(out) != "d: 2d6h\n" {
		t.Fatalf("marshal = %q, %v", out, err)
	}
	if err := yaml.Unmarshal([]byte("d: [1]\n"), &v); err == nil {
		t.Fatal("a list decoded as a duration")
	}
}
