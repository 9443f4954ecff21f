package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/state"
)

// TestTestStorageObjectLock: the provider test (POST
// /api/storage-providers/:id/test) says when object_lock is set on a
// bucket without Object Lock, and passes on a bucket with it (versitygw).
func TestTestStorageObjectLock(t *testing.T) {
	h := newHarness(t)
	base := s3test.StartVersity(t)
	for _, c := range []struct {
		bucket string
		lock   bool
		want   string
	}{
		{"jagad-plain", false, `object lock: bucket "jagad-plain" does not have Object Lock enabled, but object_lock is set (governance, 7 days)`},
		{"jagad-locked", true, ""},
	} {
		p := h.addS3Provider(c.bucket, s3test.AddBucket(t, base, c.bucket, c.lock))
		p.ObjectLock = state.ObjectLock{Mode: "governance", Days: 7}
		put(h, p)
		err := h.eng.TestStorage(context.Background(), p.ID)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("TestStorage(%s) = %v, want %q", c.bucket, err, c.want)
		}
	}
}
