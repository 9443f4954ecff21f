package api

import (
	"strings"
	"testing"

	"github.com/jagad/jagad/config"
)

func TestExportIsAValidConfig(t *testing.T) {
	e := newEnv(t)
	newFixture(e)
	fileRecords(t, e) // file-managed records stay out of the export
	e.call("PUT", "/api/settings", map[string]string{"compression": "zstd"}, 200)
	w := e.call("GET", "/api/config/export", nil, 200)
	doc := w.Body.String()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("content type %q", ct)
	}
	for _, s := range []string{"pg-secret", "s3-secret", "123:ABC", "AKIAEXAMPLE", "file-pg", "nightly-full"} {
		if strings.Contains(doc, s) {
			t.Errorf("export contains %q:\n%s", s, doc)
		}
	}
	vars := map[string]bool{}
	lookup := func(k string) (string, bool) {
		vars[k] = true
		return "value-of-" + k, true
	}
	file, rep := config.Parse("export.yaml", []byte(doc), config.Options{LookupEnv: lookup, Resolve: true})
	if rep.HasErrors() {
		t.Fatalf("export does not load: %v\n%s", rep.Err(), doc)
	}
	for _, v := range []string{"CONN_PROD_PG_PASSWORD", "STORAGE_S3_SECRET_KEY", "STORAGE_S3_ACCESS_KEY", "NOTIF_TG_BOT_TOKEN"} {
		if !vars[v] {
			t.Errorf("placeholder ${%s} missing:\n%s", v, doc)
		}
	}
	if len(file.Connections) != 1 || file.Connections[0].Name != "prod-pg" || len(file.Connections[0].Databases) != 1 ||
		file.Connections[0].Databases[0] != "myapp" || file.Connections[0].Password != "value-of-CONN_PROD_PG_PASSWORD" {
		t.Errorf("connections: %+v", file.Connections)
	}
	if len(file.Schedules) != 1 {
		t.Fatalf("schedules: %+v", file.Schedules)
	}
	sc := file.Schedules[0]
	if sc.Connection != "prod-pg" || sc.Database != "myapp" || sc.Storage != "s3" || len(sc.Notifications) != 1 ||
		sc.Notifications[0] != "tg" || sc.CronExpr != "0 2 * * *" || sc.RetentionFull == nil || *sc.RetentionFull != 7 {
		t.Errorf("schedule: %+v", sc)
	}
	if file.Settings.Compression == nil || *file.Settings.Compression != "zstd" || file.Settings.Timezone != nil {
		t.Errorf("settings: %+v", file.Settings)
	}
}
