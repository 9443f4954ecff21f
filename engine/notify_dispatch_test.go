package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
)

// metric returns the value of a counter or gauge with the given labels.
func metric(tb testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// recorder is a local HTTP endpoint that records what it receives.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	reply  string
	got    []received
}

type received struct {
	Path string
	Body map[string]any
}

func newRecorder(tb testing.TB, status int, reply string) *recorder {
	r := &recorder{status: status, reply: reply}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		r.mu.Lock()
		r.got = append(r.got, received{Path: req.URL.Path, Body: body})
		r.mu.Unlock()
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.reply)
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// wait waits until n requests arrived and returns them.
func (r *recorder) wait(tb testing.TB, n int) []received {
	tb.Helper()
	waitFor(tb, 10*time.Second, func() bool { return len(r.received()) >= n })
	return r.received()
}

// addTarget stores an API-made notification target.
func (h *harness) addTarget(name, typ string, cfg map[string]any, events []string) state.Notification {
	h.t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	now := time.Now().UTC()
	return put(h, state.Notification{
		Meta:             state.Meta{ID: state.NewID(state.KindNotification), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now},
		NotificationSpec: state.NotificationSpec{Name: name, NotifType: typ, ConfigJSON: state.Secret(raw), Events: events},
	})
}

func notifCount(tb testing.TB, h *harness, typ, result string) float64 {
	return metric(tb, h.reg, "jagad_notifications_total", map[string]string{"type": typ, "result": result})
}

// TestNotificationDispatch: listed targets get what notify_on_success /
// notify_on_failure ask for, event subscribers get their events, a failing
// target is counted and changes nothing, the test endpoint reports the real
// outcome, and no secret reaches the log.
func TestNotificationDispatch(t *testing.T) {
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	h.addLocalProvider("local")
	name := srv.CreateDB(t, "notify")
	srv.Exec(t, name, "CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1);")
	c := h.addConnection("pg", srv, "")
	d := h.addDatabase(c, name)
	missing := h.addDatabase(c, "jagad_no_such_db")

	tg := newRecorder(t, http.StatusOK, `{"ok":true}`)
	dc := newRecorder(t, http.StatusNoContent, "")
	sl := newRecorder(t, http.StatusOK, "ok")
	broken := newRecorder(t, http.StatusInternalServerError, "boom")
	audit := newRecorder(t, http.StatusOK, "ok")
	cfg := newRecorder(t, http.StatusOK, "ok")
	token := "123456:tg-secret-token"
	secrets := []string{"tg-secret-token", "discord-secret", "slack-secret", "broken-secret", "audit-secret", srv.Password}

	nTG := h.addTarget("tg", "telegram", map[string]any{"bot_token": token, "chat_id": "42", "api_url": tg.srv.URL}, nil)
	nDC := h.addTarget("dc", "discord", map[string]any{"webhook_url": dc.srv.URL + "/api/webhooks/1/discord-secret"}, nil)
	h.addTarget("sl", "slack", map[string]any{"webhook_url": sl.srv.URL + "/services/T/B/slack-secret"}, []string{"backup.failed"})
	nBroken := h.addTarget("broken", "webhook", map[string]any{"url": broken.srv.URL + "/hook/broken-secret"}, nil)
	h.addTarget("audit", "webhook", map[string]any{"url": audit.srv.URL + "/audit/audit-secret"}, []string{"backup.succeeded", "backup.failed"})
	h.addTarget("cfg", "webhook", map[string]any{"url": cfg.srv.URL + "/cfg"}, []string{"config.failed"})

	start := func(db state.Database, targets []string, onSuccess, onFailure bool) state.Backup {
		t.Helper()
		b, err := h.eng.StartBackup(context.Background(), BackupRequest{ConnectionID: c.ID, DatabaseID: db.ID,
			NotifTargetIDs: targets, NotifyOnSuccess: onSuccess, NotifyOnFailure: onFailure})
		if err != nil {
			t.Fatal(err)
		}
		return h.waitBackup(b.ID, time.Minute)
	}

	// Success, listed tg + discord + broken, notify_on_success.
	ok := start(d, []string{nTG.ID, nDC.ID, nBroken.ID}, true, false)
	if ok.Status != state.StatusSuccess {
		t.Fatalf("backup %s:\n%s", ok.Status, ok.LogOutput)
	}
	got := tg.wait(t, 1)
	if got[0].Path != "/bot"+token+"/sendMessage" || got[0].Body["chat_id"] != "42" ||
		!strings.Contains(fmt.Sprint(got[0].Body["text"]), name) {
		t.Fatalf("telegram got %+v", got[0])
	}
	if got := dc.wait(t, 1); !strings.Contains(fmt.Sprint(got[0].Body["content"]), name) {
		t.Fatalf("discord got %+v", got[0])
	}
	if got := audit.wait(t, 1); got[0].Body["event"] != "backup.succeeded" || got[0].Body["backup_id"] != ok.ID {
		t.Fatalf("subscriber got %+v", got[0])
	}
	broken.wait(t, 1)
	waitFor(t, 10*time.Second, func() bool { return notifCount(t, h, "webhook", "failed") == 1 })
	if b := h.backup(ok.ID); b.Status != state.StatusSuccess {
		t.Fatalf("a failed notification changed the backup to %s", b.Status)
	}
	if !strings.Contains(h.logs.String(), "notification failed") {
		t.Fatal("the failed notification was not logged")
	}

	// Failure with notify_on_failure off: only the backup.failed subscriber.
	bad := start(missing, []string{nTG.ID}, true, false)
	if bad.Status != state.StatusFailed {
		t.Fatalf("backup of a missing database: %s", bad.Status)
	}
	if got := sl.wait(t, 1); !strings.Contains(fmt.Sprint(got[0].Body["text"]), "jagad_no_such_db") {
		t.Fatalf("slack got %+v", got[0])
	}
	if got := audit.wait(t, 2); got[1].Body["event"] != "backup.failed" || got[1].Body["backup_id"] != bad.ID ||
		!strings.Contains(fmt.Sprint(got[1].Body["error"]), "jagad_no_such_db") {
		t.Fatalf("failure subscriber got %+v", got[1].Body)
	}
	// Failure with notify_on_failure on: the listed target too.
	start(missing, []string{nTG.ID}, false, true)
	tg.wait(t, 2)
	sl.wait(t, 2)

	// The test endpoint sends for real and returns the outcome.
	if err := h.eng.TestNotification(context.Background(), nTG.ID); err != nil {
		t.Fatalf("test telegram: %v", err)
	}
	tg.wait(t, 3)
	err := h.eng.TestNotification(context.Background(), nBroken.ID)
	if err == nil || strings.Contains(err.Error(), "broken-secret") {
		t.Fatalf("test of a failing target: %v", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Fatalf("test of a failing target does not say what happened: %v", err)
	}

	// config.failed reaches its subscriber only.
	h.eng.NotifyConfigFailed(errors.New("jagad.yaml:3:1: unknown key"))
	if got := cfg.wait(t, 1); got[0].Body["event"] != "config.failed" {
		t.Fatalf("config subscriber got %+v", got[0])
	}

	time.Sleep(150 * time.Millisecond) // anything stray arrives now
	for _, r := range []struct {
		name string
		rec  *recorder
		want int
	}{{"telegram", tg, 3}, {"discord", dc, 1}, {"slack", sl, 2}, {"broken", broken, 2}, {"audit", audit, 3}, {"cfg", cfg, 1}} {
		if n := len(r.rec.received()); n != r.want {
			t.Errorf("%s received %d, want %d", r.name, n, r.want)
		}
	}
	for typ, want := range map[string]float64{"telegram": 3, "discord": 1, "slack": 2} {
		if got := notifCount(t, h, typ, "sent"); got != want {
			t.Errorf("%s sent = %v, want %v", typ, got, want)
		}
	}
	if got := notifCount(t, h, "webhook", "sent"); got != 4 {
		t.Errorf("webhook sent = %v, want 4", got)
	}
	if got := notifCount(t, h, "webhook", "failed"); got != 2 {
		t.Errorf("webhook failed = %v, want 2", got)
	}
	logs := h.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("secret %q reached the log", s[:4]+"...")
		}
	}
}
