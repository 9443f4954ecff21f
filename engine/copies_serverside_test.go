package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// TestCopiesServerSideCopyOfMultipart: a backfill between two buckets of
// one S3 service is a server-side copy of a multipart object (multipart
// uploads carry no checksum without an Object Lock, so the source reports
// no SHA-256). versitygw computes the copy's SHA-256 and reports it: the
// copy is compared with encrypted_checksum and recorded verified.
// gofakes3 reports none: only the copy's size can be checked, so the copy
// is recorded stored with its verification pending, not passed, and the
// log says its sha256 was not compared; a quick verification then reads
// it (no store checksum to lean on) and passes it.
func TestCopiesServerSideCopyOfMultipart(t *testing.T) {
	for _, tc := range []struct {
		name        string
		start       func(testing.TB) storage.Config
		wantChecked bool
	}{{"versitygw", s3test.StartVersity, true}, {"gofakes3", s3test.StartFake, false}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.start(t)
			c := newCopiesEnvOn(t, 20, storage.Config{}, storage.Config{})
			first := c.addS3Provider("bucket1", cfg)
			second := c.addS3Provider("bucket2", s3test.AddBucket(t, cfg, "jagad-second", false))
			sc := c.addSchedule("server-side", first, nil)
			b := c.runNow(sc)
			if b.Status != state.StatusSuccess {
				t.Fatalf("backup %s:\n%s", b.Status, b.LogOutput)
			}
			if b.StoredSizeBytes < 12<<20 {
				t.Fatalf("stored %d bytes: too small for a multipart upload", b.StoredSizeBytes)
			}
			if info, err := c.storeFor(first).Stat(testCtx(t), b.StoragePath); err != nil || info.SHA256 != "" {
				t.Fatalf("the source reports sha256 %q (%v): this test needs an object without one", info.SHA256, err)
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
			info, err := c.storeFor(second).Stat(testCtx(t), b.StoragePath)
			if err != nil || (info.SHA256 != "") != tc.wantChecked {
				t.Fatalf("the copy reports sha256 %q (%v); want one: %v", info.SHA256, err, tc.wantChecked)
			}
			r, _ := b.Replica(second.ID)
			match := strings.Contains(b.LogOutput, "sha256 "+b.EncryptedChecksum+" MATCH")
			notCompared := strings.Contains(b.LogOutput, "its sha256 was not compared")
			if tc.wantChecked {
				if r.VerifyStatus != state.VerifyPassed || r.VerifiedAt == nil || !match || notCompared {
					t.Fatalf("a copy whose sha256 was compared: verify %q at %v\n%s", r.VerifyStatus, r.VerifiedAt, b.LogOutput)
				}
				return
			}
			if r.VerifyStatus != state.VerifyPending || r.VerifiedAt != nil || match || !notCompared {
				t.Fatalf("a copy whose sha256 was not compared: verify %q at %v\n%s", r.VerifyStatus, r.VerifiedAt, b.LogOutput)
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
		})
	}
}
