package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// copies_to through the API: provider IDs, alone or with a policy of their
// own; the same checks as the file (dangling, duplicate, the primary
// repeated, including the default provider of a schedule without one); a
// GET → PUT round trip keeps it; a provider a schedule copies to cannot be
// deleted.
func TestScheduleCopiesTo(t *testing.T) {
	e := newEnv(t)
	f := newFixture(e) // f.prov is the default provider
	offsite := idOf(t, e.call("POST", "/api/storage-providers", map[string]any{"name": "offsite", "provider_type": "local", "path": "/srv/offsite"}, http.StatusCreated).Body)
	vault := idOf(t, e.call("POST", "/api/storage-providers", map[string]any{"name": "vault", "provider_type": "local", "path": "/srv/vault"}, http.StatusCreated).Body)
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"connection_id": f.conn, "database_id": f.db, "cron_expr": "@daily", "storage_provider_id": f.prov}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	var v scheduleView
	mustJSON(t, e.call("POST", "/api/schedules", body(map[string]any{
		"copies_to": []any{offsite, map[string]any{"storage_provider_id": vault, "keep_monthly": 12}}}), http.StatusCreated), &v)
	want := []state.CopyTarget{{StorageProviderID: offsite}, {StorageProviderID: vault, KeepMonthly: 12}}
	if !slices.Equal(v.CopiesTo, want) {
		t.Fatalf("copies_to = %+v, want %+v", v.CopiesTo, want)
	}
	// The view sent back unchanged changes nothing.
	var full map[string]any
	mustJSON(t, e.call("GET", "/api/schedules/"+v.ID, nil, http.StatusOK), &full)
	var again scheduleView
	mustJSON(t, e.call("PUT", "/api/schedules/"+v.ID, full, http.StatusOK), &again)
	if !slices.Equal(again.CopiesTo, want) {
		t.Errorf("after a round trip copies_to = %+v", again.CopiesTo)
	}
	for _, tt := range []struct {
		name, want string
		extra      map[string]any
	}{
		{"dangling", `"copies_to[1].storage_provider_id": storage provider "prov_nope" not found`,
			map[string]any{"copies_to": []any{offsite, "prov_nope"}}},
		{"duplicate", `"copies_to[1].storage_provider_id": duplicate copy destination "offsite"`,
			map[string]any{"copies_to": []any{offsite, offsite}}},
		{"primary", `"copies_to[0].storage_provider_id": "s3" is the schedule's primary storage`,
			map[string]any{"copies_to": []any{f.prov}}},
		{"default primary", `"copies_to[0].storage_provider_id": "` + f.prov + `" is the default provider`,
			map[string]any{"storage_provider_id": "", "copies_to": []any{f.prov}}},
		{"not a list", `"copies_to"`, map[string]any{"copies_to": "offsite"}},
	} {
		w := e.send(req{method: "POST", path: "/api/schedules", body: body(tt.extra)})
		if w.Code != http.StatusBadRequest || !strings.Contains(errMsg(t, w), tt.want) {
			t.Errorf("%s: %d %s, want 400 with %s", tt.name, w.Code, w.Body, tt.want)
		}
	}
	w := e.send(req{method: "DELETE", path: "/api/storage-providers/" + vault})
	if w.Code != http.StatusConflict {
		t.Errorf("delete a provider a schedule copies to: %d %s, want 409", w.Code, w.Body)
	}
	// The export carries copies_to by name and loads again.
	doc := e.call("GET", "/api/config/export", nil, http.StatusOK).Body.String()
	file, rep := config.Parse("export.yaml", []byte(doc), config.Options{LookupEnv: func(string) (string, bool) { return "x", true }, Resolve: true})
	if rep.HasErrors() {
		t.Fatalf("export does not load: %v\n%s", rep.Err(), doc)
	}
	var exported []config.CopyTarget
	for _, sc := range file.Schedules {
		if sc.Name == v.Name {
			exported = sc.CopiesTo
		}
	}
	if len(exported) != 2 || exported[0].Storage != "offsite" || exported[1].Storage != "vault" || exported[1].KeepMonthly != 12 {
		t.Errorf("exported copies_to = %+v\n%s", exported, doc)
	}
	// [] clears the copies.
	mustJSON(t, e.call("PUT", "/api/schedules/"+v.ID, map[string]any{"copies_to": []any{}}, http.StatusOK), &again)
	if len(again.CopiesTo) != 0 {
		t.Errorf("copies_to after [] = %+v", again.CopiesTo)
	}
}
