package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jagad/jagad/state"
)

// TestClusterModePagesOfferNoConfigForms: in cluster mode (the API refuses
// configuration writes) every list page says where configuration comes
// from and offers no "New …" form; alone, the forms are offered and
// nothing is said.
func TestClusterModePagesOfferNoConfigForms(t *testing.T) {
	st, err := state.Open(state.Options{Dir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	auth := func(*http.Request) (string, bool) { return "admin", true }
	for _, group := range []string{"", "prod"} {
		h, err := New(Deps{Store: st, Auth: auth, ClusterGroup: group})
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range []string{"connections", "schedules", "storage", "notifications"} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/"+list, nil))
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("GET /%s = %d", list, w.Code)
			}
			offers := strings.Contains(body, `href="/`+list+`/new"`)
			notes := strings.Contains(body, `id="cluster-note"`) && strings.Contains(body, "jagad.yaml")
			if group == "" && (!offers || notes) {
				t.Errorf("alone, /%s offers its form %v, says cluster mode %v; want the form and no note", list, offers, notes)
			}
			if group != "" && (offers || !notes || !strings.Contains(body, "<code>prod</code>")) {
				t.Errorf("cluster mode, /%s offers its form %v, says cluster mode %v; want the note naming the group and no form", list, offers, notes)
			}
		}
	}
}
