package api

import (
	"net/http"
	"slices"
	"testing"
)

// POST /api/backups/{id}/verify takes an optional {"mode":"quick"|"deep"};
// without a body it stays deep (the behaviour before the body existed).
func TestVerifyMode(t *testing.T) {
	tests := []struct {
		name     string
		body     any
		want     int
		wantCall string // "": the engine must not be called
		wantErr  string
	}{
		{name: "no body is deep", body: nil, want: http.StatusOK, wantCall: "verify "},
		{name: "empty object is deep", body: map[string]any{}, want: http.StatusOK, wantCall: "verify "},
		{name: "deep", body: map[string]any{"mode": "deep"}, want: http.StatusOK, wantCall: "verify "},
		{name: "quick", body: map[string]any{"mode": "quick"}, want: http.StatusOK, wantCall: "verify quick "},
		{name: "unknown mode", body: map[string]any{"mode": "thorough"}, want: http.StatusBadRequest,
			wantErr: `invalid value for field "mode": unsupported value "thorough"; supported: quick, deep`},
		{name: "mode of the wrong type", body: map[string]any{"mode": true}, want: http.StatusBadRequest},
		{name: "unknown field", body: map[string]any{"depth": "deep"}, want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			f := newFixture(e)
			before := len(e.eng.calls)
			w := e.send(req{method: "POST", path: "/api/backups/" + f.backup + "/verify", body: tt.body})
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			calls := e.eng.calls[before:]
			if tt.wantCall == "" {
				if len(calls) != 0 {
					t.Errorf("engine called on a refused request: %v", calls)
				}
			} else if !slices.Contains(calls, tt.wantCall+f.backup) {
				t.Errorf("engine calls %v, want %q", calls, tt.wantCall+f.backup)
			}
			if tt.wantErr != "" && errMsg(t, w) != tt.wantErr {
				t.Errorf("error %q, want %q", errMsg(t, w), tt.wantErr)
			}
		})
	}
}
