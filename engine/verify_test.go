package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// holdSlots takes every slot of the engine so jobs wait; the returned func
// gives them back.
func holdSlots(t *testing.T, e *Engine) func() {
	t.Helper()
	used, _ := e.slots.inUse()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := e.slots.acquire(ctx)
		cancel()
		if err != nil {
			break
		}
		n++
	}
	if n == 0 || used != 0 {
		t.Fatalf("held %d slots (%d were in use)", n, used)
	}
	return func() {
		for range n {
			e.slots.release()
		}
	}
}

// waitVerified waits until a backup is no longer verifying.
func (h *harness) waitVerified(id string) state.Backup {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b := h.backup(id)
		if b.VerifyStatus != state.VerifyVerifying {
			return b
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("backup %s still verifying", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func apiCode(err error) fault.Code {
	var ae *fault.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// TestVerifyQuickAndDeep verifies good backups: deep with the key, quick
// without it, deep for an unencrypted MariaDB dump; the status walks
// pending → verifying → passed, a second verification while one runs is a
// conflict, and only successful backups can be verified.
func TestVerifyQuickAndDeep(t *testing.T) {
	srv := dbtest.Postgres(t)
	kr := rsKeyring(t, "k1", map[string]string{"k1": rsNewKey(t)}, nil)
	h := newHarness(t, withKeyring(kr))
	h.addLocalProvider("local")
	c := h.addConnection("pg", srv, "")
	b := h.runBackup(c, h.addDatabase(c, rsSmall(t, srv, "verify", 300)), rsEncrypt(true))
	if b.Status != state.StatusSuccess || b.VerifyStatus != state.VerifyPending {
		t.Fatalf("backup %s verify %s", b.Status, b.VerifyStatus)
	}
	backupLog := b.LogOutput

	release := holdSlots(t, h.eng)
	if err := h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got := h.backup(b.ID); got.VerifyStatus != state.VerifyVerifying || got.Status != state.StatusSuccess {
		t.Errorf("while verifying: status %s verify %s", got.Status, got.VerifyStatus)
	}
	if err := h.eng.Verify(context.Background(), b.ID, true); apiCode(err) != fault.CodeConflict {
		t.Errorf("second verify: %v, want a conflict", err)
	}
	release()
	got := h.waitVerified(b.ID)
	if got.VerifyStatus != state.VerifyPassed || got.VerifyMode != VerifyDeep || got.VerifiedAt == nil || got.Status != state.StatusSuccess {
		t.Fatalf("deep verify: status %s verify %s mode %s at %v\n%s", got.Status, got.VerifyStatus, got.VerifyMode, got.VerifiedAt, got.LogOutput)
	}
	for _, s := range []string{backupLog, "DECRYPT: streaming decrypt OK", "VERIFY: checksum MATCH", "pg_restore --list OK", "VERIFY: passed (deep)"} {
		if !strings.Contains(got.LogOutput, s) {
			t.Errorf("log_output lacks %q:\n%s", s, got.LogOutput)
		}
	}

	h.keys = nil // the key is gone: only a quick verification is possible
	if err := h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	got = h.waitVerified(b.ID)
	if got.VerifyStatus != state.VerifyPassed || got.VerifyMode != VerifyQuick {
		t.Fatalf("quick verify: %s %s\n%s", got.VerifyStatus, got.VerifyMode, got.LogOutput)
	}
	if !strings.Contains(got.LogOutput, "quick verification only") || !strings.Contains(got.LogOutput, "MATCH") {
		t.Errorf("quick verify log:\n%s", got.LogOutput)
	}
	if n := testutil.ToFloat64(h.eng.metrics.verifications.WithLabelValues("passed")); n != 2 {
		t.Errorf("jagad_verifications_total{result=passed} = %v, want 2", n)
	}

	my := dbtest.MariaDB(t)
	mc := h.addConnection("my", my, "")
	mb := h.runBackup(mc, h.addDatabase(mc, rsSmall(t, my, "verify", 300)), rsEncrypt(false))
	h.eng.verifyNow(context.Background(), mb.ID, true)
	if got := h.backup(mb.ID); got.VerifyStatus != state.VerifyPassed || got.VerifyMode != VerifyDeep ||
		!strings.Contains(got.LogOutput, "completion trailer present") {
		t.Errorf("mariadb deep verify: %s %s\n%s", got.VerifyStatus, got.VerifyMode, got.LogOutput)
	}

	failed := put(h, state.Backup{ID: state.NewID(state.KindBackup), DBType: dbclient.PostgreSQL, Status: state.StatusFailed, CreatedAt: time.Now()})
	err := h.eng.Verify(context.Background(), failed.ID, true)
	if apiCode(err) != fault.CodeInvalid || err.Error() != "cannot verify backup with status: failed" {
		t.Errorf("verify of a failed backup: %v", err)
	}
	if err := h.eng.Verify(context.Background(), "bck_nope", true); apiCode(err) != fault.CodeNotFound {
		t.Errorf("verify of an unknown backup: %v", err)
	}
}

// TestVerifyFailureNotifies corrupts a stored object: deep verification
// fails, the backup stays success, the failure is metered and verify.failed
// reaches a webhook.
func TestVerifyFailureNotifies(t *testing.T) {
	events := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err == nil {
			events <- ev
		}
	}))
	defer hook.Close()
	srv := dbtest.Postgres(t)
	h := newHarness(t)
	p := h.addLocalProvider("local")
	cfg, _ := json.Marshal(map[string]string{"url": hook.URL})
	put(h, state.Notification{Meta: state.Meta{ID: state.NewID(state.KindNotification), CreatedAt: time.Now()},
		NotificationSpec: state.NotificationSpec{Name: "hook", NotifType: "webhook", ConfigJSON: state.Secret(cfg),
			Events: []string{"verify.failed"}}})
	c := h.addConnection("pg", srv, "")
	b := h.runBackup(c, h.addDatabase(c, rsSmall(t, srv, "vfail", 300)), rsEncrypt(false))
	rsDamage(t, objectPath(p, b), "flip")

	if err := h.eng.Verify(context.Background(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	got := h.waitVerified(b.ID)
	if got.Status != state.StatusSuccess || got.VerifyStatus != state.VerifyFailed || got.VerifyMode != VerifyDeep {
		t.Fatalf("status %s verify %s mode %s\n%s", got.Status, got.VerifyStatus, got.VerifyMode, got.LogOutput)
	}
	if !strings.Contains(got.LogOutput, "VERIFY FAILED") {
		t.Errorf("log_output:\n%s", got.LogOutput)
	}
	select {
	case ev := <-events:
		if ev["event"] != "verify.failed" || ev["backup_id"] != b.ID || !strings.Contains(ev["error"].(string), "verification failed") {
			t.Errorf("webhook payload: %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no verify.failed notification")
	}
	if n := testutil.ToFloat64(h.eng.metrics.verifications.WithLabelValues("failed")); n != 1 {
		t.Errorf("jagad_verifications_total{result=failed} = %v, want 1", n)
	}
}

func TestAppendLogBounded(t *testing.T) {
	old := strings.Repeat("backup line\n", maxBackupLog/12)
	got := appendLog(old, "VERIFY: passed (deep)\n")
	if len(got) > maxBackupLog+64 || !strings.HasSuffix(got, "VERIFY: passed (deep)\n") || !strings.HasPrefix(got, "... (") {
		t.Errorf("appendLog: %d bytes, head %q", len(got), got[:40])
	}
	if got := appendLog("a", "b\n"); got != "a\nb\n" {
		t.Errorf("appendLog(a, b) = %q", got)
	}
}
