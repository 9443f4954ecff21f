package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

// TestProviderObjectLock: object_lock is set, shown, kept when a PUT leaves
// it out, removed by null, validated like the file's, refused on local
// storage, and exported to jagad.yaml.
func TestProviderObjectLock(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "vault", "provider_type": "s3-compat", "endpoint": "https://objects.example.net",
		"bucket": "jagad-vault", "access_key": "a", "secret_key": "s",
		"object_lock": map[string]any{"mode": "compliance", "days": 30}}
	w := e.call("POST", "/api/storage-providers", body, http.StatusCreated)
	id := idOf(t, w.Body)
	lockOf := func() *state.ObjectLock {
		var v providerView
		mustJSON(t, e.call("GET", "/api/storage-providers/"+id, nil, http.StatusOK), &v)
		return v.ObjectLock
	}
	if l := lockOf(); l == nil || *l != (state.ObjectLock{Mode: "compliance", Days: 30}) {
		t.Fatalf("object_lock = %+v, want compliance 30", l)
	}
	e.call("PUT", "/api/storage-providers/"+id, map[string]any{"prefix": "x"}, http.StatusOK)
	if l := lockOf(); l == nil || l.Days != 30 {
		t.Fatalf("a PUT without object_lock changed it: %+v", l)
	}
	exp := e.call("GET", "/api/config/export", nil, http.StatusOK).Body.String()
	if !strings.Contains(exp, "object_lock:") || !strings.Contains(exp, "mode: compliance") || !strings.Contains(exp, "days: 30") {
		t.Fatalf("export lacks object_lock:\n%s", exp)
	}
	e.call("PUT", "/api/storage-providers/"+id, map[string]any{"object_lock": map[string]any{"mode": "governance", "days": 7}}, http.StatusOK)
	if l := lockOf(); l == nil || *l != (state.ObjectLock{Mode: "governance", Days: 7}) {
		t.Fatalf("object_lock after PUT = %+v, want governance 7", l)
	}
	e.call("PUT", "/api/storage-providers/"+id, map[string]any{"object_lock": nil}, http.StatusOK)
	if l := lockOf(); l != nil {
		t.Fatalf("object_lock after null = %+v, want none", l)
	}
	if strings.Contains(e.call("GET", "/api/config/export", nil, http.StatusOK).Body.String(), "object_lock") {
		t.Fatal("export shows a removed object_lock")
	}

	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"bad mode", map[string]any{"object_lock": map[string]any{"mode": "legal", "days": 1}}, `invalid value for field "object_lock.mode"`},
		{"no days", map[string]any{"object_lock": map[string]any{"mode": "governance"}}, `invalid value for field "object_lock.days"`},
		{"too long", map[string]any{"object_lock": map[string]any{"mode": "governance", "days": 36501}}, `invalid value for field "object_lock.days"`},
		{"no mode", map[string]any{"object_lock": map[string]any{"days": 3}}, `missing required field "object_lock.mode"`},
		{"wrong type", `{"object_lock":{"mode":"governance","days":"3"}}`, `invalid value for field "object_lock.days": expected number`},
		{"unknown", `{"object_lock":{"mode":"governance","days":3,"legal_hold":true}}`, `unknown field "legal_hold"`},
		{"local", map[string]any{"provider_type": "local", "path": "/srv", "endpoint": "", "bucket": "", "access_key": "", "region": "",
			"object_lock": map[string]any{"mode": "governance", "days": 3}}, `invalid value for field "object_lock"`},
	} {
		w := e.send(req{method: "PUT", path: "/api/storage-providers/" + id, body: c.body})
		if w.Code != http.StatusBadRequest || !strings.Contains(errMsg(t, w), c.want) {
			t.Errorf("%s: %d %s, want 400 containing %q", c.name, w.Code, w.Body, c.want)
		}
	}
}
