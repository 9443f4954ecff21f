package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOriginAndSessionFlags: --trusted-origins/JAGAD_TRUSTED_ORIGINS and
// --session-idle-timeout/JAGAD_SESSION_IDLE_TIMEOUT reach the config; flags
// win; bad values are refused naming the flag.
func TestOriginAndSessionFlags(t *testing.T) {
	for _, c := range []struct {
		name        string
		args        []string
		env         map[string]string
		wantOrigins []string
		wantIdle    time.Duration
		wantErr     string
	}{
		{name: "defaults", wantIdle: 8 * time.Hour},
		{name: "env", env: map[string]string{"JAGAD_TRUSTED_ORIGINS": "https://ui.example, http://localhost:8085",
			"JAGAD_SESSION_IDLE_TIMEOUT": "30m"},
			wantOrigins: []string{"https://ui.example", "http://localhost:8085"}, wantIdle: 30 * time.Minute},
		{name: "flags win", args: []string{"--trusted-origins", "https://a.example", "--session-idle-timeout", "2h"},
			env:         map[string]string{"JAGAD_TRUSTED_ORIGINS": "https://b.example", "JAGAD_SESSION_IDLE_TIMEOUT": "30m"},
			wantOrigins: []string{"https://a.example"}, wantIdle: 2 * time.Hour},
		{name: "origin with a path", args: []string{"--trusted-origins", "https://a.example/ui"}, wantErr: "--trusted-origins"},
		{name: "origin without scheme", env: map[string]string{"JAGAD_TRUSTED_ORIGINS": "a.example"}, wantErr: "--trusted-origins"},
		{name: "idle not a duration", args: []string{"--session-idle-timeout", "8"}, wantErr: "--session-idle-timeout"},
		{name: "idle too short", env: map[string]string{"JAGAD_SESSION_IDLE_TIMEOUT": "10s"}, wantErr: "--session-idle-timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
			got, err := parseServeFlags(c.args, io.Discard, env)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.trustedOrigins, c.wantOrigins) || got.sessionIdle != c.wantIdle {
				t.Errorf("origins %q idle %v, want %q %v", got.trustedOrigins, got.sessionIdle, c.wantOrigins, c.wantIdle)
			}
		})
	}
}
