package storage_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
)

// TestCopyVersityServerSide: two buckets on one versitygw are copied
// between by the service (one CopyObject, and UploadPartCopy parts above the
// limit); the copies are byte-identical and their SHA-256, computed by the
// service, matches.
func TestCopyVersityServerSide(t *testing.T) {
	base := s3test.StartVersity(t)
	base.PartSize = 5 << 20
	srcCfg := base
	srcCfg.Prefix = "prod eu/jagad+x" // escaped in x-amz-copy-source
	src := mustOpen(t, srcCfg)
	dstCfg := s3test.AddBucket(t, base, "jagad-offsite", false)
	dstCfg.Prefix = "team a"
	dst := mustOpen(t, dstCfg)
	small, big := data(t, 5, 300<<10), data(t, 6, 12<<20)
	putBytes(t, src, "backups/small", small)
	putBytes(t, src, "backups/big", big)

	for _, tc := range []struct {
		key   string
		b     []byte
		parts bool
	}{{"backups/small", small, false}, {"backups/big", big, false}, {"backups/big", big, true}} {
		if tc.parts {
			storage.SetCopyLimit(dst, 6<<20, 5<<20)
		}
		got, err := storage.Copy(testCtx(t), src, tc.key, dst, "copies/x", storage.Expect{Size: int64(len(tc.b)), SHA256: hexSHA(tc.b)})
		if err != nil {
			t.Fatalf("Copy(%s, parts %v): %v", tc.key, tc.parts, err)
		}
		t.Logf("Copy(%s, parts %v) = %+v", tc.key, tc.parts, got)
		if got.Method != storage.CopyServer || got.Size != int64(len(tc.b)) {
			t.Fatalf("Copy = %+v, want a server-side copy of %d bytes", got, len(tc.b))
		}
		if !tc.parts && (got.SHA256 != hexSHA(tc.b) || !got.Verified) {
			t.Fatalf("Copy = %+v, want the service's sha256 %s, verified", got, hexSHA(tc.b))
		}
		if !bytes.Equal(getBytes(t, dst, "copies/x"), tc.b) {
			t.Fatalf("Copy(%s, parts %v): the copy differs", tc.key, tc.parts)
		}
	}
	// A source that is not what the caller expects is not copied.
	_, err := storage.Copy(testCtx(t), src, "backups/small", dst, "copies/y", storage.Expect{Size: 5})
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("Copy with a wrong size = %v, want ErrChecksum", err)
	}
	if _, err := dst.Stat(testCtx(t), "copies/y"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a refused copy left an object: %v", err)
	}
	_, err = storage.Copy(testCtx(t), src, "backups/small", dst, "copies/y", storage.Expect{SHA256: hexSHA(big)})
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("Copy with a wrong sha256 = %v, want ErrChecksum", err)
	}
	if _, err := storage.Copy(testCtx(t), src, "backups/small", src, "backups/small", storage.Expect{}); err == nil {
		t.Fatal("Copy onto itself succeeded")
	}
}

// TestCopyVersityLockedDestination: the destination's Object Lock applies
// to a server-side copy; a multipart source (no whole-object SHA-256 to
// check first) is streamed into a locked bucket, so a bad copy can never
// be locked in.
func TestCopyVersityLockedDestination(t *testing.T) {
	base := s3test.StartVersity(t)
	base.PartSize = 5 << 20
	src := mustOpen(t, base)
	vault := s3test.AddBucket(t, base, "jagad-vault", true)
	vault.ObjectLock = storage.ObjectLock{Mode: "compliance", Days: 1}
	dst := mustOpen(t, vault)
	small, big := data(t, 7, 1000), data(t, 8, 11<<20)
	putBytes(t, src, "backups/small", small)
	putBytes(t, src, "backups/big", big)
	for _, tc := range []struct {
		key    string
		b      []byte
		method string
	}{{"backups/small", small, storage.CopyServer}, {"backups/big", big, storage.CopyStream}} {
		got, err := storage.Copy(testCtx(t), src, tc.key, dst, tc.key, storage.Expect{Size: int64(len(tc.b)), SHA256: hexSHA(tc.b)})
		if err != nil || got.Method != tc.method || got.SHA256 != hexSHA(tc.b) || !got.Verified {
			t.Fatalf("Copy(%s) = %+v, %v; want %s, verified sha256 %s", tc.key, got, err, tc.method, hexSHA(tc.b))
		}
		info, err := dst.Stat(testCtx(t), tc.key)
		if err != nil || info.LockMode != storage.LockCompliance {
			t.Fatalf("Stat(%s) = %+v, %v; want a compliance lock", tc.key, info, err)
		}
		if err := dst.Delete(testCtx(t), tc.key); !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("Delete(%s) = %v, want ErrLocked", tc.key, err)
		}
	}
}

// TestCopyStreamed: between different services (local → versitygw,
// versitygw → gofakes3, gofakes3 → local) the bytes are streamed and
// hashed; a source that does not match the expected SHA-256 or size fails
// the copy and leaves nothing at the destination (no object, no incomplete
// upload).
func TestCopyStreamed(t *testing.T) {
	local := mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: t.TempDir()})
	vcfg := s3test.StartVersity(t)
	vcfg.PartSize = 5 << 20
	versity := mustOpen(t, vcfg)
	fcfg := s3test.StartFake(t)
	fcfg.PartSize = 5 << 20
	fake := mustOpen(t, fcfg)
	b := data(t, 9, 11<<20)
	putBytes(t, local, "backups/a", b)
	for _, hop := range []struct {
		name     string
		src, dst storage.Store
	}{{"local→versitygw", local, versity}, {"versitygw→gofakes3", versity, fake}, {"gofakes3→local", fake, local}} {
		t.Run(hop.name, func(t *testing.T) {
			key := "backups/a"
			if hop.dst == local {
				key = "backups/b"
			}
			got, err := storage.Copy(testCtx(t), hop.src, "backups/a", hop.dst, key, storage.Expect{Size: int64(len(b)), SHA256: hexSHA(b)})
			if err != nil || got.Method != storage.CopyStream || got.Size != int64(len(b)) || got.SHA256 != hexSHA(b) || !got.Verified {
				t.Fatalf("Copy = %+v, %v; want a verified stream of %d bytes", got, err, len(b))
			}
			if !bytes.Equal(getBytes(t, hop.dst, key), b) {
				t.Fatal("the copy differs")
			}
			for _, want := range []storage.Expect{{SHA256: hexSHA(b[1:])}, {Size: int64(len(b)) - 1}, {Size: int64(len(b)) + 1}} {
				_, err := storage.Copy(testCtx(t), hop.src, "backups/a", hop.dst, "bad/x", want)
				if !errors.Is(err, storage.ErrChecksum) {
					t.Fatalf("Copy expecting %+v = %v, want ErrChecksum", want, err)
				}
				if _, err := hop.dst.Stat(testCtx(t), "bad/x"); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("a failed copy left an object: %v", err)
				}
				if left := incomplete(t, hop.dst, "bad/"); len(left) != 0 {
					t.Fatalf("a failed copy expecting %+v left incomplete uploads: %v", want, left)
				}
			}
		})
	}
}

// TestCopyFakeServerSide: gofakes3 copies between its buckets too.
func TestCopyFakeServerSide(t *testing.T) {
	base := s3test.StartFake(t)
	srcCfg := base
	srcCfg.Prefix = "prod eu/jagad+x"
	src := mustOpen(t, srcCfg)
	dst := mustOpen(t, s3test.AddBucket(t, base, "jagad-offsite", false))
	b := data(t, 10, 100<<10)
	putBytes(t, src, "backups/a", b)
	got, err := storage.Copy(testCtx(t), src, "backups/a", dst, "backups/a", storage.Expect{Size: int64(len(b)), SHA256: hexSHA(b)})
	if err != nil || got.Method != storage.CopyServer {
		t.Fatalf("Copy = %+v, %v; want a server-side copy", got, err)
	}
	if !bytes.Equal(getBytes(t, dst, "backups/a"), b) {
		t.Fatal("the copy differs")
	}
}
