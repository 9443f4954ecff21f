package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
)

// planner is a stand-in reconciler: documents with "schedules" plan changes.
type planner struct{ got []byte }

func (p *planner) Status() state.ConfigStatus { return state.ConfigStatus{} }

func (p *planner) PlanBytes(doc []byte) (*reconcile.Plan, error) {
	p.got = doc
	switch {
	case strings.Contains(string(doc), "broken"):
		return nil, errors.New("jagad.yaml:2:1: unknown key \"broken\"\njagad.yaml:9:3: and one more")
	case strings.Contains(string(doc), "schedules"):
		return &reconcile.Plan{Items: []reconcile.Item{
			{Action: reconcile.Create, Kind: "schedule", Name: "x"},
			{Action: reconcile.Update, Kind: "connection", Name: "y", Fields: []string{"host", "port"}},
			{Action: reconcile.Prune, Kind: "notification", Name: "old"},
			{Action: reconcile.Adopt, Kind: "storage", Name: "s3"},
			{Action: reconcile.Unchanged, Kind: "connection", Name: "z"},
		}}, nil
	}
	return &reconcile.Plan{Items: []reconcile.Item{}}, nil
}

func (p *planner) Reload(context.Context, string, bool) reconcile.Result { return reconcile.Result{} }

// planDaemon serves a real API; paths records every request path.
func planDaemon(t *testing.T) (*httptest.Server, *planner, *[]string) {
	t.Helper()
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{1}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p := &planner{}
	h := api.New(api.Deps{Store: st, Config: p, AdminUser: "admin", AdminPass: "pw-123456"})
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, p, &paths
}

func writePlanFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jagad.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunPlan(t *testing.T) {
	srv, p, paths := planDaemon(t)
	creds := map[string]string{"JAGAD_URL": srv.URL, "JAGAD_USER": "admin", "JAGAD_PASSWORD": "pw-123456"}
	changes := writePlanFile(t, "version: 1\nschedules: []\n")

	var out, errb bytes.Buffer
	code := runPlan([]string{"-f", changes}, nil, &out, &errb, mapEnv(creds))
	if code != planChanges {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	want := "+ create schedule \"x\"\n~ update connection \"y\" (fields: host, port)\n- prune notification \"old\"\n= adopt storage \"s3\"\n1 create, 1 update, 1 adopt, 1 prune, 1 unchanged\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if string(p.got) != "version: 1\nschedules: []\n" {
		t.Errorf("daemon got %q", p.got)
	}
	// It logged in, planned and logged the session out again.
	if got := strings.Join(*paths, " "); got != "/api/auth/login /api/config/plan /api/auth/logout" {
		t.Errorf("requests: %s", got)
	}

	out.Reset()
	code = runPlan([]string{"-f", "-"}, strings.NewReader("version: 1\n"), &out, &errb, mapEnv(creds))
	if code != planNoChange || out.String() != "0 create, 0 update, 0 adopt, 0 prune, 0 unchanged\n" {
		t.Errorf("no change: exit %d, %q", code, out.String())
	}

	errb.Reset()
	code = runPlan([]string{"-f", writePlanFile(t, "version: 1\nbroken: 1\n")}, nil, &out, &errb, mapEnv(creds))
	if code != planError || !strings.Contains(errb.String(), `unknown key "broken"`) {
		t.Errorf("invalid file: exit %d, %q", code, errb.String())
	}

	errb.Reset()
	code = runPlan([]string{"-f", changes}, nil, &out, &errb, mapEnv(map[string]string{"JAGAD_URL": srv.URL, "JAGAD_TOKEN": "forged"}))
	if code != planError || !strings.Contains(errb.String(), "unauthorized") {
		t.Errorf("bad token: exit %d, %q", code, errb.String())
	}

	errb.Reset()
	code = runPlan([]string{"-f", filepath.Join(t.TempDir(), "missing.yaml")}, nil, &out, &errb, mapEnv(creds))
	if code != planError || !strings.Contains(errb.String(), "read config") {
		t.Errorf("missing file: exit %d, %q", code, errb.String())
	}

	errb.Reset()
	code = runPlan([]string{"-f", changes}, nil, &out, &errb, mapEnv(map[string]string{"JAGAD_URL": "http://127.0.0.1:1", "JAGAD_TOKEN": "t"}))
	if code != planError || !strings.Contains(errb.String(), "reach jagad") {
		t.Errorf("no daemon: exit %d, %q", code, errb.String())
	}
}

// TestRunPlanNamesTheUsersFile: the daemon reports a posted document as
// jagad.yaml; `jagad plan -f FILE` shows FILE instead.
func TestRunPlanNamesTheUsersFile(t *testing.T) {
	srv, _, _ := planDaemon(t)
	creds := map[string]string{"JAGAD_URL": srv.URL, "JAGAD_USER": "admin", "JAGAD_PASSWORD": "pw-123456"}
	path := filepath.Join(t.TempDir(), "pr-change.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nbroken: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file  string
		stdin string
		want  string
	}{
		{file: path, want: "jagad plan: " + path + ":2:1: unknown key \"broken\""},
		{file: "-", stdin: "version: 1\nbroken: 1\n", want: "jagad plan: <stdin>:2:1: unknown key \"broken\""},
	} {
		var out, errb bytes.Buffer
		code := runPlan([]string{"-f", tt.file}, strings.NewReader(tt.stdin), &out, &errb, mapEnv(creds))
		if code != planError || !strings.HasPrefix(errb.String(), tt.want) {
			t.Errorf("-f %s: exit %d, stderr %q, want it to start with %q", tt.file, code, errb.String(), tt.want)
		}
		if strings.Contains(errb.String(), "jagad.yaml:9:3") || !strings.Contains(errb.String(), ":9:3: and one more") {
			t.Errorf("-f %s: the second diagnostic is not renamed: %q", tt.file, errb.String())
		}
	}
}
