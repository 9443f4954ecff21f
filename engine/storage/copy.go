package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strings"
)

// How Copy moved the bytes.
const (
	CopyServer = "server" // S3 CopyObject/UploadPartCopy: the bytes never leave the service
	CopyStream = "stream" // read from the source, written to the destination
)

// Expect is what the copied object must be; zero fields are not checked.
type Expect struct {
	Size   int64  // checked when > 0
	SHA256 string // hex SHA-256 of the whole object
}

// Copied is the outcome of a Copy.
type Copied struct {
	Method string // CopyServer or CopyStream
	Size   int64
	// SHA256 is the hex SHA-256 of the copy: computed while streaming; for a
	// server-side copy the destination's own whole-object checksum when it
	// reports one, else "".
	SHA256 string
	// Verified says SHA256 was compared with Expect.SHA256 and matched.
	Verified bool
}

// Copy copies src's srcKey to dst's dstKey. When both are S3 stores of the
// same service (endpoint, region and keys) the service copies the object
// itself (CopyObject, or UploadPartCopy above 5 GiB); otherwise the object
// is streamed through this process, hashed on the way. A streamed copy that
// does not match want fails before the destination object is completed, so
// nothing is left behind; a server-side copy is checked after the fact (size,
// and SHA-256 when the destination reports it) and removed when it does not
// match. A service that answers NotImplemented gets a streamed copy. A
// destination with an Object Lock only gets a server-side copy when
// the source's SHA-256 is known to match want (a bad locked copy could not
// be removed). The destination's Object Lock, if any, applies to the copy.
// Mismatches wrap ErrChecksum.
func Copy(ctx context.Context, src Store, srcKey string, dst Store, dstKey string, want Expect) (Copied, error) {
	if s, d, ok := sameService(src, dst); ok {
		if err := sameObject(s, srcKey, d, dstKey); err != nil {
			return Copied{}, err
		}
		info, err := s.Stat(ctx, srcKey)
		if err != nil {
			return Copied{}, fmt.Errorf("copy %q: %w", srcKey, err)
		}
		if err := checkSource(info, want); err != nil {
			return Copied{}, err
		}
		if !d.lock.Enabled() || want.SHA256 == "" || info.SHA256 != "" {
			out, err := serverCopy(ctx, s, srcKey, d, dstKey, info.Size, want)
			if !hasCode(err, "NotImplemented") {
				return out, err
			}
			// A service without CopyObject: stream instead.
		}
	}
	return streamCopy(ctx, src, srcKey, dst, dstKey, want)
}

// sameService reports whether src and dst are S3 stores one request can
// copy between: same endpoint, region and credentials.
func sameService(src, dst Store) (*S3, *S3, bool) {
	s, ok1 := src.(*S3)
	d, ok2 := dst.(*S3)
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	return s, d, s.endpoint == d.endpoint && s.region == d.region &&
		s.accessKey == d.accessKey && s.secret == d.secret
}

func sameObject(s *S3, srcKey string, d *S3, dstKey string) error {
	sk, err := s.fullKey(srcKey)
	if err != nil {
		return err
	}
	dk, err := d.fullKey(dstKey)
	if err != nil {
		return err
	}
	if s.bucket == d.bucket && sk == dk {
		return fmt.Errorf("copy %q: source and destination are the same object", srcKey)
	}
	return nil
}

// checkSource compares what Stat says of the source with want.
func checkSource(info Info, want Expect) error {
	if want.Size > 0 && info.Size != want.Size {
		return fmt.Errorf("copy %q: source is %d bytes, want %d: %w", info.Key, info.Size, want.Size, ErrChecksum)
	}
	if want.SHA256 != "" && info.SHA256 != "" && !strings.EqualFold(info.SHA256, want.SHA256) {
		return fmt.Errorf("copy %q: source sha256 %s, want %s: %w", info.Key, info.SHA256, want.SHA256, ErrChecksum)
	}
	return nil
}

func serverCopy(ctx context.Context, s *S3, srcKey string, d *S3, dstKey string, size int64, want Expect) (Copied, error) {
	if err := d.copyFrom(ctx, s, srcKey, dstKey, size); err != nil {
		return Copied{}, err
	}
	info, err := d.Stat(ctx, dstKey)
	if err != nil {
		return Copied{}, fmt.Errorf("copy %q: check the copy: %w", srcKey, err)
	}
	out := Copied{Method: CopyServer, Size: info.Size, SHA256: info.SHA256}
	var bad error
	switch {
	case info.Size != size:
		bad = fmt.Errorf("copy %q: the copy is %d bytes, the source %d: %w", srcKey, info.Size, size, ErrChecksum)
	case want.SHA256 != "" && info.SHA256 != "":
		if !strings.EqualFold(info.SHA256, want.SHA256) {
			bad = fmt.Errorf("copy %q: the copy's sha256 is %s, want %s: %w", srcKey, info.SHA256, want.SHA256, ErrChecksum)
		}
		out.Verified = bad == nil
	}
	if bad != nil {
		if err := d.Delete(ctx, dstKey); err != nil {
			return Copied{}, fmt.Errorf("%w (and the bad copy could not be removed: %v)", bad, err)
		}
		return Copied{}, bad
	}
	return out, nil
}

func streamCopy(ctx context.Context, src Store, srcKey string, dst Store, dstKey string, want Expect) (Copied, error) {
	rc, err := src.Get(ctx, srcKey)
	if err != nil {
		return Copied{}, fmt.Errorf("copy %q: %w", srcKey, err)
	}
	defer rc.Close()
	vr := &verifyingReader{r: rc, h: sha256.New(), want: want, key: srcKey}
	n, err := dst.Put(ctx, dstKey, vr)
	if err != nil {
		return Copied{}, fmt.Errorf("copy %q to %s: %w", srcKey, dst, err)
	}
	if !vr.done || n != vr.n {
		// A Put that stops reading before EOF would store a truncated copy.
		return Copied{}, fmt.Errorf("copy %q: stored %d bytes, read %d: %w", srcKey, n, vr.n, ErrChecksum)
	}
	return Copied{Method: CopyStream, Size: n, SHA256: vr.sum, Verified: want.SHA256 != ""}, nil
}

// verifyingReader hashes what it reads and, at the end of the stream,
// answers an error instead of io.EOF when the bytes do not match want, so
// the destination's Put fails and leaves nothing behind.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want Expect
	key  string
	n    int64
	sum  string
	done bool
	err  error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.want.Size > 0 && v.n > v.want.Size {
		v.err = fmt.Errorf("copy %q: source longer than %d bytes: %w", v.key, v.want.Size, ErrChecksum)
		return 0, v.err
	}
	if errors.Is(err, io.EOF) {
		v.err = v.finish()
		if v.err == nil {
			v.err = io.EOF
		}
		return n, v.err
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

func (v *verifyingReader) finish() error {
	v.sum = hex.EncodeToString(v.h.Sum(nil))
	if v.want.Size > 0 && v.n != v.want.Size {
		return fmt.Errorf("copy %q: source is %d bytes, want %d: %w", v.key, v.n, v.want.Size, ErrChecksum)
	}
	if v.want.SHA256 != "" && !strings.EqualFold(v.sum, v.want.SHA256) {
		return fmt.Errorf("copy %q: source sha256 %s, want %s: %w", v.key, v.sum, v.want.SHA256, ErrChecksum)
	}
	v.done = true
	return nil
}

// copySource is the x-amz-copy-source of key in s: "bucket/key" with every
// byte but unreserved ones and '/' percent-encoded ('+' too: services decode
// it as a space).
func (s *S3) copySource(fk string) string {
	segs := strings.Split(s.bucket+"/"+fk, "/")
	for i, seg := range segs {
		segs[i] = strings.ReplaceAll(url.QueryEscape(seg), "+", "%20")
	}
	return strings.Join(segs, "/")
}
