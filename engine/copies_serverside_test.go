package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// TestCopiesServerSideCopyOfMultipartIsNotCalledVerified: a backfill
// between two buckets of one versitygw is a server-side copy. The backup is
// a multipart object, whose SHA-256 versitygw does not report (multipart
// uploads carry no checksum without an Object Lock), so only the copy's
// size can be checked: the copy is recorded stored with its verification
// pending, not passed, and the log says its sha256 was not compared. A
// quick verification then reads it (no store checksum to lean on) and
// passes it.
func TestCopiesServerSideCopyOfMultipartIsNotCalledVerified(t *testing.T) {
	cfg := s3test.StartVersity(t)
	c := newCopiesEnvOn(t, 20, cfg, s3test.StartFake(t))
	second := c.addS3Provider("versity2", s3test.AddBucket(t, cfg, "jagad-second", false))
	sc := c.addSchedule("server-side", c.versity, nil)
	b := c.runNow(sc)
	if b.Status != state.StatusSuccess {
		t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
	}
	if b.StoredSizeBytes < 12<<20 {
		t.Fatalf("stored %d bytes: too small for a multipart upload", b.StoredSizeBytes)
	}
	if info, err := c.storeFor(c.versity).Stat(testCtx(t), b.StoragePath); err != nil || info.SHA256 != "" {
		t.Fatalf("the primary reports sha256 %q (%v): this test needs an object without one", info.SHA256, err)
	}

	if _, err := c.eng.CopyBackup(context.Background(), b.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, func() bool {
		r, _ := c.backup(b.ID).Replica(second.ID)
		return r.Status != state.ReplicaPending
	})
	b = c.backup(b.ID)
	c.assertCopy(b, second) // reads the copy: it is the stored bytes
	if !strings.Contains(c.logs.String(), "method=server") {
		t.Fatalf("the backfill was not a server-side copy; engine log:\n%s", c.logs.String())
	}
	r, _ := b.Replica(second.ID)
	if r.VerifyStatus != state.VerifyPending || r.VerifiedAt != nil {
		t.Fatalf("a copy whose sha256 was not compared is recorded verify %q at %v", r.VerifyStatus, r.VerifiedAt)
	}
	if !strings.Contains(b.LogOutput, "its sha256 was not compared") || strings.Contains(b.LogOutput, "sha256 "+b.EncryptedChecksum+" MATCH") {
		t.Fatalf("the log does not say the copy's sha256 was not compared:\n%s", b.LogOutput)
	}

	if err := c.eng.Verify(context.Background(), b.ID, false); err != nil {
		t.Fatal(err)
	}
	b = c.waitVerified(b.ID)
	r, _ = b.Replica(second.ID)
	if b.VerifyStatus != state.VerifyPassed || r.VerifyStatus != state.VerifyPassed || r.VerifiedAt == nil {
		t.Fatalf("after a quick verify: backup %s, copy %+v\n%s", b.VerifyStatus, r, b.LogOutput)
	}
	if strings.Contains(b.LogOutput, "no read") {
		t.Fatalf("quick verify claims a store checksum for a multipart object:\n%s", b.LogOutput)
	}
}
