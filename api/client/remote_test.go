package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestErrorsCarryStatusAndMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer good":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"unauthorized"}`))
		case r.URL.Path == "/api/backups/bck_x":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"backup not found"}`))
		default:
			_, _ = w.Write([]byte(`[{"id":"bck_1","status":"success","size_bytes":5}]`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	_, _, err := New(srv.URL, "bad", "", "").Backups(ctx, BackupQuery{})
	if StatusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "jagad login") {
		t.Errorf("401: %v", err)
	}
	c := New(srv.URL, "good", "", "")
	_, _, err = c.Backup(ctx, "bck_x")
	if StatusOf(err) != http.StatusNotFound || err.Error() != "backup not found (HTTP 404)" {
		t.Errorf("404: %v", err)
	}
	bs, raw, err := c.Backups(ctx, BackupQuery{Status: "success", Limit: 5})
	if err != nil || len(bs) != 1 || bs[0].SizeBytes != 5 || !strings.Contains(string(raw), `"size_bytes":5`) {
		t.Errorf("list: %v %v %s", bs, err, raw)
	}
}

func TestBackupQueryEncodes(t *testing.T) {
	if got := (BackupQuery{}).encode(); got != "" {
		t.Errorf("empty query: %q", got)
	}
	if got := (BackupQuery{ScheduleID: "sch_1", Status: "failed", Limit: 10, Offset: 20}).encode(); got != "?limit=10&offset=20&schedule_id=sch_1&status=failed" {
		t.Errorf("query: %q", got)
	}
}

func TestFailureOf(t *testing.T) {
	log := "BACKUP: streaming\nDUMP ERROR: pg_dump: connection refused\nBACKUP FAILED: dump: exit 1\n"
	if got := FailureOf(log); got != "DUMP ERROR: pg_dump: connection refused\nBACKUP FAILED: dump: exit 1" {
		t.Errorf("FailureOf = %q", got)
	}
	if got := FailureOf("BACKUP: streaming\nBACKUP FAILED: timeout\n"); got != "BACKUP FAILED: timeout" {
		t.Errorf("FailureOf without ERROR = %q", got)
	}
	if got := FailureOf("RESTORE: streaming\nRESTORE: stopped\n"); got != "RESTORE: stopped" {
		t.Errorf("FailureOf without ERROR or FAILED = %q", got)
	}
}
