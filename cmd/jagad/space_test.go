package main

import "testing"

func TestParseMinFree(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		wantErr  bool
	}{
		{"default", "", 0, false},
		{"off", "off", -1, false},
		{"bytes", "1048576", 1 << 20, false},
		{"MiB", "512MiB", 512 << 20, false},
		{"GiB with space", "2 GiB", 2 << 30, false},
		{"KiB", "64KiB", 64 << 10, false},
		{"zero", "0", 0, true},
		{"negative", "-5MiB", 0, true},
		{"decimal units are not guessed", "512MB", 0, true},
		{"overflow", "9999999999GiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMinFree(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseMinFree(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	c, err := parseServeFlags([]string{"--min-free-space", "1GiB"}, nil, mapEnv(map[string]string{"JAGAD_MIN_FREE_SPACE": "8MiB"}))
	if err != nil || c.minFreeBytes != 1<<30 {
		t.Errorf("flag over env: %+v, %v", c, err)
	}
	if _, err := parseServeFlags(nil, nil, mapEnv(map[string]string{"JAGAD_MIN_FREE_SPACE": "lots"})); err == nil {
		t.Error("JAGAD_MIN_FREE_SPACE=lots accepted")
	}
}
