package engine

import (
	"context"
	"testing"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/logbuf"
)

// TestPassphraseBackupsRestore: backups sealed with a passphrase key (one
// Argon2id key salt for the engine's keyring, crypt FORMAT.md §3.5) pass a
// deep verification, restore through the engine (verify pass, then the
// restore) and restore offline with the passphrase alone, as `jagad restore`
// does in a fresh process.
func TestPassphraseBackupsRestore(t *testing.T) {
	srv := dbtest.Postgres(t)
	const pass = "engine test passphrase"
	kr, err := crypt.NewKeyring("pp", map[string]string{"pp": pass}, "")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withKeyring(kr))
	p := h.addLocalProvider("local")
	db := rsSmall(t, srv, "passphrase", 300)
	want := srv.Checksum(t, db)
	c := h.addConnection("pg", srv, "")
	d := h.addDatabase(c, db)
	var bs []state.Backup
	for range 2 {
		b := h.runBackup(c, d, rsEncrypt(true))
		if b.Status != state.StatusSuccess || b.EncryptionKeyID != "pp" {
			t.Fatalf("backup %s key %q:\n%s", b.Status, b.EncryptionKeyID, b.LogOutput)
		}
		bs = append(bs, b)
	}
	if err := h.eng.Verify(context.Background(), bs[0].ID, true); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got := h.waitVerified(bs[0].ID); got.VerifyStatus != state.VerifyPassed || got.VerifyMode != VerifyDeep {
		t.Fatalf("deep verify: verify %s mode %s\n%s", got.VerifyStatus, got.VerifyMode, got.LogOutput)
	}
	st, err := storage.Open(storage.Config{Type: "local", Path: p.Path})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bs {
		rc, err := st.Get(context.Background(), b.StoragePath)
		if err != nil {
			t.Fatal(err)
		}
		info, err := crypt.ReadHeaderInfo(rc)
		rc.Close()
		if err != nil || !info.Passphrase || info.KeyID != "pp" {
			t.Fatalf("backup %d header %+v, %v: want passphrase key pp", i, info, err)
		}
	}

	target := db + "_pp"
	t.Cleanup(func() { srv.DropDB(t, target) })
	if r := h.restore(bs[1].ID, RestoreRequest{TargetDatabase: target}); r.Status != state.StatusSuccess {
		t.Fatalf("restore: %s\n%s", r.Status, r.LogOutput)
	}
	rsSameTables(t, "engine restore", want, srv.Checksum(t, target))

	offline := db + "_pp_offline"
	t.Cleanup(func() { srv.DropDB(t, offline) })
	var out logbuf.Buffer
	if _, err := RestoreOffline(context.Background(), OfflineRestoreOptions{Store: st, Key: bs[0].StoragePath,
		EncryptionKey: pass, Target: srv.Target(offline), Log: &out}); err != nil {
		t.Fatalf("offline restore with the passphrase: %v\n%s", err, out.String())
	}
	rsSameTables(t, "offline restore", want, srv.Checksum(t, offline))
}
