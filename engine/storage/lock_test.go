package storage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/engine/storage/storagetest"
)

func data(t testing.TB, seed uint64, size int64) []byte {
	t.Helper()
	b, err := io.ReadAll(storagetest.Data(seed, size))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func putBytes(t *testing.T, s storage.Store, key string, b []byte) {
	t.Helper()
	if n, err := s.Put(testCtx(t), key, bytes.NewReader(b)); err != nil || n != int64(len(b)) {
		t.Fatalf("Put(%s) = %d, %v; want %d bytes", key, n, err, len(b))
	}
}

func getBytes(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(testCtx(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// TestVersityObjectLock: on a bucket with Object Lock enabled, a store with
// object_lock stores every object (one-part and multipart) under the
// retention, Probe works (its object is not locked), and Delete refuses
// before the date with ErrLocked and the date, also through a store without
// the option; the object stays.
func TestVersityObjectLock(t *testing.T) {
	base := s3test.StartVersity(t)
	cfg := s3test.AddBucket(t, base, "jagad-locked", true)
	cfg.PartSize = 5 << 20
	cfg.ObjectLock = storage.ObjectLock{Mode: "governance", Days: 3}
	st := mustOpen(t, cfg)
	if err := storage.Probe(testCtx(t), st); err != nil {
		t.Fatalf("Probe on a locked bucket: %v", err)
	}
	small, big := data(t, 1, 1000), data(t, 2, 11<<20)
	before := time.Now().UTC()
	putBytes(t, st, "backups/small", small)
	putBytes(t, st, "backups/big", big)
	after := time.Now().UTC()

	cfg.ObjectLock = storage.ObjectLock{}
	plain := mustOpen(t, cfg)
	for _, k := range []string{"backups/small", "backups/big"} {
		info, err := st.Stat(testCtx(t), k)
		if err != nil {
			t.Fatal(err)
		}
		if k == "backups/big" && !strings.HasPrefix(info.Checksum, "sha256-composite:") {
			t.Fatalf("%s: Checksum %q, want the parts' sha256 (sent with a lock)", k, info.Checksum)
		}
		if k == "backups/small" && info.SHA256 != hexSHA(small) {
			t.Fatalf("%s: SHA256 %q, want %s", k, info.SHA256, hexSHA(small))
		}
		lo, hi := before.Add(72*time.Hour).Truncate(time.Second), after.Add(72*time.Hour+time.Second)
		if info.LockMode != storage.LockGovernance || info.RetainUntil.Before(lo) || info.RetainUntil.After(hi) {
			t.Fatalf("%s: lock %q until %v, want GOVERNANCE until [%v, %v]", k, info.LockMode, info.RetainUntil, lo, hi)
		}
		for _, s := range []storage.Store{st, plain} {
			err := s.Delete(testCtx(t), k)
			var le *storage.LockedError
			if !errors.Is(err, storage.ErrLocked) || !errors.As(err, &le) {
				t.Fatalf("Delete(%s) = %v, want ErrLocked", k, err)
			}
			date := info.RetainUntil.UTC().Format(time.RFC3339)
			if !le.RetainUntil.Equal(info.RetainUntil) || !strings.Contains(err.Error(), date) {
				t.Fatalf("Delete(%s) = %q, want the retain-until date %s", k, err, date)
			}
		}
		// The service refuses too, when asked directly.
		if err := storage.DeleteObjectUnchecked(testCtx(t), plain, k); !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("DeleteObject(%s) on the service = %v, want a refusal seen as ErrLocked", k, err)
		}
	}
	if got := getBytes(t, plain, "backups/big"); !bytes.Equal(got, big) {
		t.Fatal("the locked object changed")
	}
	// An object stored without the option is deletable as before.
	putBytes(t, plain, "backups/free", small)
	if err := plain.Delete(testCtx(t), "backups/free"); err != nil {
		t.Fatalf("Delete of an unlocked object: %v", err)
	}
	if err := plain.Delete(testCtx(t), "backups/missing"); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
}

// TestObjectLockBucketNotEnabled: with object_lock set on a bucket without
// Object Lock, Probe (the API's test connection) says so on both servers,
// and versitygw refuses the upload.
func TestObjectLockBucketNotEnabled(t *testing.T) {
	forServers(t, func(t *testing.T, srv s3test.Server) {
		cfg := srv.Start(t, nil)
		cfg.ObjectLock = storage.ObjectLock{Mode: "compliance", Days: 30}
		st := mustOpen(t, cfg)
		err := storage.Probe(testCtx(t), st)
		t.Logf("Probe: %v", err)
		if err == nil || !strings.HasPrefix(err.Error(), "object lock: ") ||
			!strings.Contains(err.Error(), `bucket "jagad-test" does not have Object Lock enabled`) {
			t.Fatalf("Probe = %v, want object lock: bucket … does not have Object Lock enabled", err)
		}
		if srv.Name == "versitygw" {
			if _, err := st.Put(testCtx(t), "backups/x", strings.NewReader("x")); err == nil {
				t.Fatal("versitygw stored a locked object in a bucket without Object Lock")
			}
			// A failure of the basic probe is named first, as without a lock.
			cfg.SecretKey = "not-the-secret-Qx7Vb2"
			if err := storage.Probe(testCtx(t), mustOpen(t, cfg)); err == nil || !strings.HasPrefix(err.Error(), "put probe: ") {
				t.Fatalf("Probe with a wrong secret = %v, want put probe: …", err)
			}
		}
	})
}

func TestObjectLockConfig(t *testing.T) {
	cfg := storage.Config{Type: storage.TypeS3Compat, Endpoint: "http://127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	for _, tc := range []struct {
		lock storage.ObjectLock
		want string
	}{
		{storage.ObjectLock{Mode: "GOVERNANCE", Days: 1}, ""},
		{storage.ObjectLock{Mode: "compliance", Days: 36500}, ""},
		{storage.ObjectLock{Mode: "legal-hold", Days: 1}, `mode "legal-hold"`},
		{storage.ObjectLock{Mode: "governance"}, "days 0 out of range"},
		{storage.ObjectLock{Days: 3}, `mode ""`},
	} {
		c := cfg
		c.ObjectLock = tc.lock
		_, err := storage.Open(c)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open with %+v = %v, want %q", tc.lock, err, tc.want)
		}
	}
	_, err := storage.Open(storage.Config{Type: storage.TypeLocal, Path: t.TempDir(), ObjectLock: storage.ObjectLock{Mode: "governance", Days: 1}})
	if err == nil || !strings.Contains(err.Error(), "only supported by S3") {
		t.Errorf("Open local with a lock = %v, want refused", err)
	}
}

func TestLockedErrorMessage(t *testing.T) {
	until := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	err := error(&storage.LockedError{Key: "backups/a", Mode: "COMPLIANCE", RetainUntil: until})
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatal("LockedError does not wrap ErrLocked")
	}
	if got, want := err.Error(), `delete "backups/a": object is locked (compliance mode) until 2027-01-02T03:04:05Z`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// TestStatChecksum: one-part S3 uploads send x-amz-checksum-sha256, so
// Stat gives the object's SHA-256 (versitygw and gofakes3); a multipart one
// (no lock) has no checksum but an ETag that changes when the object is
// replaced; a local file reports size only.
func TestStatChecksum(t *testing.T) {
	small, big := data(t, 3, 70<<10), data(t, 4, 11<<20)
	forServers(t, func(t *testing.T, srv s3test.Server) {
		cfg := srv.Start(t, nil)
		cfg.PartSize = 5 << 20
		st := mustOpen(t, cfg)
		putBytes(t, st, "backups/small", small)
		info, err := st.Stat(testCtx(t), "backups/small")
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(small)) || info.SHA256 != hexSHA(small) || info.Checksum != "sha256:"+hexSHA(small) {
			t.Fatalf("Stat = %+v, want size %d sha256 %s", info, len(small), hexSHA(small))
		}
		putBytes(t, st, "backups/big", big)
		info, err = st.Stat(testCtx(t), "backups/big")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("multipart: %+v", info)
		if info.Size != int64(len(big)) || info.SHA256 != "" || info.Checksum != "" || info.ETag == "" {
			t.Fatalf("Stat of a multipart object = %+v, want size %d, an ETag and no checksum (parts are not hashed without a lock)", info, len(big))
		}
		// A replaced object has another ETag.
		other := append([]byte{}, big...)
		other[0] ^= 1
		putBytes(t, st, "backups/big", other)
		again, err := st.Stat(testCtx(t), "backups/big")
		if err != nil || again.ETag == "" || again.ETag == info.ETag {
			t.Fatalf("ETag after replacing the object = %q (%v), was %q", again.ETag, err, info.ETag)
		}
	})
	t.Run("local", func(t *testing.T) {
		st := mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: t.TempDir()})
		putBytes(t, st, "backups/small", small)
		info, err := st.Stat(testCtx(t), "backups/small")
		if err != nil || info.Size != int64(len(small)) || info.SHA256 != "" || info.Checksum != "" {
			t.Fatalf("Stat = %+v, %v; want size %d only", info, err, len(small))
		}
	})
}
