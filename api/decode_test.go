package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDuplicateJSONKeysRefused: a key given twice in one object is a 400
// naming the key and where it is, at any depth, even when spelled with
// escapes; the same key in sibling objects is fine.
func TestDuplicateJSONKeysRefused(t *testing.T) {
	type inner struct {
		B int `json:"b"`
		C int `json:"c"`
	}
	type doc struct {
		A     inner            `json:"a"`
		List  []inner          `json:"list"`
		M     map[string]any   `json:"m"`
		Name  string           `json:"name"`
		Other map[string]inner `json:"other"`
	}
	for _, c := range []struct {
		name, body, wantErr string // wantErr "": accepted
	}{
		{"top level", `{"name":"a","name":"b"}`, `duplicate key "name" at name`},
		{"escaped spelling", `{"name":"a","n\u0061me":"b"}`, `duplicate key "name" at name`},
		{"nested", `{"a":{"b":1,"c":2,"b":3}}`, `duplicate key "b" at a.b`},
		{"in an array element", `{"list":[{"b":1},{"b":1,"c":1,"c":2}]}`, `duplicate key "c" at list[1].c`},
		{"in a map", `{"m":{"x":{"y":[1,{"z":1,"z":1}]}}}`, `duplicate key "z" at m.x.y[1].z`},
		{"key with a colon in a string value", `{"name":"a:b","m":{"k":"v","k2":"k:","k2":1}}`, `duplicate key "k2" at m.k2`},
		{"sibling objects share keys", `{"a":{"b":1,"c":2},"list":[{"b":1,"c":2},{"b":1,"c":2}],"other":{"x":{"b":1},"y":{"b":1}}}`, ""},
		{"keys that differ only by escapes of other characters", `{"m":{"a\"b":1,"a\\b":2,"a/b":3,"a\/c":4}}`, ""},
		{"string values equal to keys", `{"name":"name","m":{"name":"name"}}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			var d doc
			err := decode(r, &d)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("got %v, want an error with %q", err, c.wantErr)
			}
		})
	}
	// Through the API: a 400 with the API's error shape.
	e := newEnv(t)
	w := e.send(req{method: "POST", path: "/api/connections",
		body: `{"name":"a","db_type":"mysql","host":"h","username":"u","host":"evil"}`})
	if w.Code != http.StatusBadRequest || !strings.Contains(errMsg(t, w), `duplicate key "host"`) {
		t.Errorf("POST /api/connections with host twice: %d %s", w.Code, w.Body)
	}
}

// BenchmarkDecode decodes a typical schedule body and a 200-element list
// (about 40 KB) the way every handler does.
func BenchmarkDecode(b *testing.B) {
	small := `{"connection_id":"conn_1","database_id":"db_1","backup_type":"full","cron_expr":"0 2 * * *",` +
		`"storage_provider_id":"prov_1","encryption_enabled":true,"verify_enabled":true,"retention_full":7,` +
		`"retention_incr":30,"notif_target_ids":["notif_1","notif_2"],"notify_on_success":true,"notify_on_failure":true}`
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 200 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(strings.Replace(small, `"conn_1"`, fmt.Sprintf(`"conn_%d"`, i), 1))
	}
	sb.WriteString("]")
	large := sb.String()
	type sched struct {
		ConnectionID      string   `json:"connection_id"`
		DatabaseID        string   `json:"database_id"`
		BackupType        string   `json:"backup_type"`
		CronExpr          string   `json:"cron_expr"`
		StorageProviderID string   `json:"storage_provider_id"`
		EncryptionEnabled bool     `json:"encryption_enabled"`
		VerifyEnabled     bool     `json:"verify_enabled"`
		RetentionFull     int      `json:"retention_full"`
		RetentionIncr     int      `json:"retention_incr"`
		NotifTargetIDs    []string `json:"notif_target_ids"`
		NotifyOnSuccess   bool     `json:"notify_on_success"`
		NotifyOnFailure   bool     `json:"notify_on_failure"`
	}
	run := func(b *testing.B, body string, dst func() any) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			if err := decode(r, dst()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("schedule", func(b *testing.B) { run(b, small, func() any { return new(sched) }) })
	b.Run("list200", func(b *testing.B) { run(b, large, func() any { return new([]sched) }) })
	// The duplicate-key scan alone, the part decode added.
	b.Run("dupscan-list200", func(b *testing.B) {
		data := []byte(large)
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if k, _ := duplicateKey(data); k != "" {
				b.Fatal(k)
			}
		}
	})
}
