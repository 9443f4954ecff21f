package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	maxParts        = 10000
	partsPerGrowth  = 2000 // the part size doubles every 2000 parts...
	maxGrowthShifts = 4    // ...at most 4 times: 2000×(1+2+4+8+16)×PartSize ≈ 496 GB at 8 MiB
	cleanupTimeout  = 30 * time.Second
)

// partSizeFor returns the size of part n (1-based). Memory stays at
// PartSize × (Concurrency+1) for objects up to 2000 parts (16 GB at 8 MiB).
func (s *S3) partSizeFor(n int) int64 {
	shift := min((n-1)/partsPerGrowth, maxGrowthShifts)
	return min(s.partSize<<shift, maxPartSize)
}

// Put uploads r. An object smaller than one part goes up in one PutObject;
// larger ones as a multipart upload with at most Concurrency parts in flight.
// On failure the multipart upload is aborted (or the object deleted) on a
// fresh context, so nothing is left behind.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	fk, err := s.fullKey(key)
	if err != nil {
		return 0, err
	}
	first, err := readFirstPart(ctx, r, s.partSizeFor(1))
	if err != nil {
		return 0, fmt.Errorf("s3 put %q: %w", key, err)
	}
	size := int64(len(first))
	if size < s.partSizeFor(1) {
		mode, until := s.retention(key, time.Now())
		_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: &fk, Body: bytes.NewReader(first), ContentLength: aws.Int64(size),
			ChecksumSHA256: sha256Header(s.checksums.small, first), ObjectLockMode: mode, ObjectLockRetainUntilDate: until,
		})
		if err != nil && ctx.Err() != nil {
			s.removeQuietly(key, fk) // cancelled in flight: it may have landed
		}
		err = s.wrap("put", key, err)
	} else {
		size, err = s.putMultipart(ctx, key, fk, first, r)
	}
	if err != nil {
		return 0, err
	}
	if err := s.checkStored(ctx, key, size); err != nil {
		s.removeQuietly(key, fk)
		return 0, err
	}
	return size, nil
}

// readFirstPart reads up to size bytes; small objects (manifests, probes)
// get a small buffer, not a whole part's.
func readFirstPart(ctx context.Context, r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, min(64<<10, size))
	n, err := readPart(ctx, r, buf)
	if err != nil || n < len(buf) || int64(n) == size {
		return buf[:n], err
	}
	big := make([]byte, size)
	copy(big, buf)
	m, err := readPart(ctx, r, big[n:])
	return big[:n+m], err
}

// readPart fills buf from r. It returns fewer bytes than len(buf) only at the
// end of the stream. Reader errors are marked with errRead.
func readPart(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	} else if err != nil {
		err = fmt.Errorf("%w: %w", errRead, err)
	}
	if err == nil {
		err = ctx.Err()
	}
	return n, err
}

// checkStored compares the stored size with the bytes read.
func (s *S3) checkStored(ctx context.Context, key string, want int64) error {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("check stored object: %w", err)
	}
	if info.Size != want {
		return fmt.Errorf("s3 put %q: stored size %d, read %d bytes", key, info.Size, want)
	}
	return nil
}

func (s *S3) removeQuietly(key, fk string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &fk})
	if err = s.wrap("delete", key, err); isLockRefusal(err) {
		// Stored under the Object Lock before the Put failed: it stays until
		// its retain-until date.
		s.log.Warn("object of a failed upload is locked and stays until its retention ends", "key", key, "err", err)
	}
}

// upload is one running multipart upload.
type upload struct {
	s        *S3
	key, fk  string
	id       string
	ctx      context.Context
	cancel   context.CancelCauseFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	parts    []types.CompletedPart
	buffers  chan []byte // Concurrency+1 buffers: one being filled, the rest uploading
	readSize int64
}

func (s *S3) putMultipart(ctx context.Context, key, fk string, first []byte, r io.Reader) (int64, error) {
	mode, until := s.retention(key, time.Now())
	in := &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &fk, ObjectLockMode: mode, ObjectLockRetainUntilDate: until}
	if s.checksums.parts {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
	}
	out, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return 0, s.wrap("put", key, err)
	}
	u := &upload{s: s, key: key, fk: fk, id: aws.ToString(out.UploadId), buffers: make(chan []byte, s.concurrency+1)}
	s.track(u.id, true)
	defer s.track(u.id, false)
	u.ctx, u.cancel = context.WithCancelCause(ctx)
	defer u.cancel(nil)
	for range s.concurrency {
		u.buffers <- nil // allocated on first use
	}

	if err := u.run(r, first); err != nil {
		u.abort()
		return 0, err
	}
	if err := u.complete(); err != nil {
		if u.abort() == errUploadGone {
			// The completion may have succeeded with its reply lost: the
			// object must not stay behind a failed Put.
			s.removeQuietly(key, fk)
		}
		return 0, err
	}
	return u.readSize, nil
}

var errUploadGone = errors.New("multipart upload no longer exists")

// run reads parts and hands them to uploaders until EOF or the first error.
func (u *upload) run(r io.Reader, buf []byte) error {
	n := len(buf) // the first part is already full
	for part := 1; ; part++ {
		if part > maxParts {
			return u.fail(fmt.Errorf("more than %d parts", maxParts))
		}
		u.readSize += int64(n)
		u.wg.Add(1)
		go u.uploadPart(int32(part), buf, n)
		if n < len(buf) {
			break // a short part ends the stream
		}
		select {
		case buf = <-u.buffers:
		case <-u.ctx.Done():
			return u.fail(u.ctx.Err())
		}
		size := u.s.partSizeFor(part + 1)
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		var err error
		if n, err = readPart(u.ctx, r, buf); err != nil {
			return u.fail(err)
		}
		if n == 0 {
			break
		}
	}
	u.wg.Wait()
	if cause := context.Cause(u.ctx); cause != nil {
		return u.fail(cause)
	}
	return nil
}

// fail cancels the running parts and returns the first failure: a part's
// error, the reader's, or the caller's cancellation, whichever came first.
func (u *upload) fail(err error) error {
	if errors.Is(err, errRead) && u.ctx.Err() == nil {
		// Let the parts in flight finish before the abort: a part the
		// service is still storing when the upload is aborted can bring the
		// upload back (versitygw), an incomplete upload left behind.
		u.wg.Wait()
	}
	u.cancel(err) // no effect if a failure is already recorded
	u.wg.Wait()
	cause := context.Cause(u.ctx)
	var se *s3Error
	if errors.As(cause, &se) {
		return cause
	}
	return fmt.Errorf("s3 put %q: %w", u.key, cause)
}

func (u *upload) uploadPart(num int32, buf []byte, n int) {
	defer u.wg.Done()
	out, err := u.s.client.UploadPart(u.ctx, &s3.UploadPartInput{
		Bucket: &u.s.bucket, Key: &u.fk, UploadId: &u.id, PartNumber: &num,
		Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n)),
		ChecksumSHA256: sha256Header(u.s.checksums.parts, buf[:n]),
	})
	u.buffers <- buf
	if err != nil {
		if u.ctx.Err() == nil {
			u.cancel(u.s.wrap(fmt.Sprintf("put part %d", num), u.key, err))
		}
		return
	}
	u.mu.Lock()
	u.parts = append(u.parts, types.CompletedPart{ETag: out.ETag, PartNumber: &num, ChecksumSHA256: out.ChecksumSHA256})
	u.mu.Unlock()
}

func (u *upload) complete() error {
	sort.Slice(u.parts, func(i, j int) bool { return *u.parts[i].PartNumber < *u.parts[j].PartNumber })
	_, err := u.s.client.CompleteMultipartUpload(u.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &u.s.bucket, Key: &u.fk, UploadId: &u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	})
	return u.s.wrap("complete upload", u.key, err)
}

// abort discards the upload's parts on a fresh context: the caller's may be
// cancelled already.
func (u *upload) abort() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := u.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &u.s.bucket, Key: &u.fk, UploadId: &u.id,
	})
	if err = u.s.wrap("abort upload", u.key, err); hasCode(err, "NoSuchUpload") {
		return errUploadGone
	}
	if err != nil {
		u.s.abortFailed(u.key, u.id, err)
	}
	return err
}
