package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

// The form pages render every field but never a stored secret, and a
// file-managed record's page is read-only with the jagad.yaml note.
func TestFormsNeverRenderSecrets(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const secret = "SECRET-canary-41b7"
	meta := func(k state.Kind, owner state.ManagedBy) state.Meta {
		return state.Meta{ID: state.NewID(k), ManagedBy: owner}
	}
	conn := state.Connection{Meta: meta(state.KindConnection, state.ManagedByAPI), ConnectionSpec: state.ConnectionSpec{
		Name: "api-pg", DBType: "postgresql", Host: "db.example.com", Port: 5432, Username: "u", Password: secret}}
	fileConn := state.Connection{Meta: meta(state.KindConnection, state.ManagedByFile), ConnectionSpec: state.ConnectionSpec{
		Name: "file-pg", DBType: "postgresql", Host: "db.example.com", Port: 5432, Username: "u", Password: secret}}
	prov := state.Provider{Meta: meta(state.KindProvider, state.ManagedByAPI), ProviderSpec: state.ProviderSpec{
		Name: "s3", ProviderType: "s3", Bucket: "b", AccessKey: "AK", SecretKey: secret}}
	hook := state.Notification{Meta: meta(state.KindNotification, state.ManagedByAPI), NotificationSpec: state.NotificationSpec{
		Name: "hook", NotifType: "webhook", Events: []string{"backup.failed"},
		ConfigJSON: state.Secret(`{"url":"https://h.example.com/` + secret + `","method":"PUT","headers":{"X-Token":"` + secret + `"}}`)}}
	mail := state.Notification{Meta: meta(state.KindNotification, state.ManagedByFile), NotificationSpec: state.NotificationSpec{
		Name: "mail", NotifType: "email",
		ConfigJSON: state.Secret(`{"smtp_host":"smtp.example.com","smtp_port":587,"from":"a@example.com","to":["b@example.com","c@example.com"],"smtp_password":"` + secret + `"}`)}}
	if err := st.Update(func(tx *state.Tx) error {
		return errors.Join(state.Put(tx, conn), state.Put(tx, fileConn), state.Put(tx, prov), state.Put(tx, hook), state.Put(tx, mail))
	}); err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Auth: func(*http.Request) (string, bool) { return "admin", true }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       []string
		wantNot    []string
	}{
		{"new connection", "/connections/new", []string{`id="connection-form"`, `value="postgresql" selected`}, []string{"stored: leave empty"}},
		{"api connection", "/connections/" + conn.ID, []string{`value="db.example.com"`, "stored: leave empty to keep it", "Test and save"},
			[]string{"managed by jagad.yaml"}},
		{"file connection", "/connections/" + fileConn.ID, []string{"managed by jagad.yaml", "<code>connections:</code>", "<fieldset disabled>"},
			[]string{"Test and save"}},
		{"api provider", "/storage/" + prov.ID, []string{`value="AK"`, "stored: leave empty to keep it", `value="s3" selected`}, nil},
		{"webhook", "/notifications/" + hook.ID, []string{"X-Token: ", `value="PUT" selected`, `id="ev-backup.failed" name="events" value="backup.failed" checked`}, nil},
		{"file email", "/notifications/" + mail.ID, []string{`value="b@example.com, c@example.com"`, `value="587"`, "<code>notifications:</code>"}, nil},
		{"missing", "/storage/prov_nope", []string{"No storage provider with this ID."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
			body := w.Body.String()
			if strings.Contains(body, secret) {
				t.Errorf("%s renders a stored secret", tt.path)
			}
			if strings.Contains(body, "template error") {
				t.Fatalf("%s: template error", tt.path)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("%s lacks %q", tt.path, s)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(body, s) {
					t.Errorf("%s has %q", tt.path, s)
				}
			}
		})
	}
}
