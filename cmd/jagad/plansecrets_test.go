package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
)

// The canaries: the daemon's master key and a file on its host.
const (
	planCanaryKey  = "CANARY-7f3a9c1e-master-key-value"
	planCanaryFile = "root:CANARY-7f3a9c1e-shadow:19000:0:99999:7:::"
)

// TestPlanNeverShowsTheDaemonsSecrets runs `jagad plan` as CI on a pull
// request would, against the real API and reconciler: whatever the posted
// file references, neither the CLI's output (the CI log) nor the API's
// answer shows the daemon's environment or files.
func TestPlanNeverShowsTheDaemonsSecrets(t *testing.T) {
	dir := t.TempDir()
	shadow := filepath.Join(dir, "shadow")
	if err := os.WriteFile(shadow, []byte(planCanaryFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(state.Options{Dir: filepath.Join(dir, "data"), MasterKey: bytes.Repeat([]byte{1}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	daemonEnv := mapEnv(map[string]string{"JAGAD_MASTER_KEY": planCanaryKey})
	r, err := reconcile.New(reconcile.Options{Path: filepath.Join(dir, "jagad.yaml"), Store: st, Env: daemonEnv})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Store: st, Config: r, AdminUser: "admin", AdminPass: "pw-123456"}))
	t.Cleanup(srv.Close)
	ci := mapEnv(map[string]string{"JAGAD_URL": srv.URL, "JAGAD_USER": "admin", "JAGAD_PASSWORD": "pw-123456"})

	for _, tt := range []struct {
		name     string
		doc      string
		wantCode int
		want     string // in the CLI's output
	}{
		{"file", "version: 1\nsettings:\n  timezone: ${file:" + shadow + "}\n", 1,
			"pr.yaml:3:13: settings.timezone: ${file:...} is refused in a document posted for planning"},
		{"env in an error", "version: 1\nsettings:\n  timezone: ${JAGAD_MASTER_KEY}\n", 1,
			`pr.yaml:3:13: settings: timezone: unknown time zone "${JAGAD_MASTER_KEY}"`},
		{"env as a name", "version: 1\nconnections:\n  - {name: \"${JAGAD_MASTER_KEY}\", db_type: postgresql, host: db}\n", 2,
			`+ create connection "${JAGAD_MASTER_KEY}"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "pr.yaml")
			if err := os.WriteFile(file, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			code := runPlan([]string{"-f", file}, nil, &out, &errb, ci)
			log := out.String() + errb.String()
			if code != tt.wantCode || !strings.Contains(log, tt.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s", code, tt.wantCode, tt.want, log)
			}
			assertNoPlanCanary(t, "the CLI's output", log)

			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/config/plan", strings.NewReader(tt.doc))
			req.Header.Set("Content-Type", "application/yaml")
			body, status := postAsAdmin(t, srv.URL, req)
			if want := map[int]int{1: http.StatusBadRequest, 2: http.StatusOK}[tt.wantCode]; status != want {
				t.Errorf("POST /api/config/plan: %d, want %d: %s", status, want, body)
			}
			assertNoPlanCanary(t, "the API's answer", body)
		})
	}
}

// postAsAdmin logs in and sends req with the session's token.
func postAsAdmin(t *testing.T, base string, req *http.Request) (string, int) {
	t.Helper()
	resp, err := http.Post(base+"/api/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"pw-123456"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.Token == "" {
		t.Fatalf("login: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String(), resp.StatusCode
}

func assertNoPlanCanary(tb testing.TB, what, s string) {
	tb.Helper()
	for _, c := range []string{planCanaryKey, planCanaryFile} {
		for i := 0; i+8 <= len(c); i++ {
			if strings.Contains(s, c[i:i+8]) {
				tb.Errorf("%s shows part of a canary (%q):\n%s", what, c[i:i+8], s)
				return
			}
		}
	}
}
