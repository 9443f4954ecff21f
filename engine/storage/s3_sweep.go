package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// SweepPrefixes are the key prefixes Jagad writes under a store's prefix:
// the sweep looks for incomplete uploads there and nowhere else in a bucket.
var SweepPrefixes = []string{"backups/", ProbePrefix}

// SweepResult counts what one sweep of a store found and did.
type SweepResult struct {
	Found   int // incomplete uploads under Jagad's prefixes
	Aborted int // stale ones aborted
	Failed  int // stale ones whose abort failed (they stay for the next sweep)
}

// abortFailed logs and counts an abort that failed: the upload's parts stay
// in the bucket (and are billed) until a sweep removes them. err comes from
// wrap, so it carries no secret.
func (s *S3) abortFailed(key, uploadID string, err error) {
	s.metrics.abortFailed(s.name)
	s.log.Warn("s3 multipart upload could not be aborted; it stays until the hourly sweep aborts it",
		"key", key, "upload_id", uploadID, "err", err)
}

// Sweep aborts the incomplete multipart uploads under Jagad's prefixes that
// were initiated more than olderThan before now, except those of Puts
// running through this Store. olderThan must exceed the longest time a
// backup may run (its timeout): an upload that old cannot belong to a
// backup running now, in this process or another one.
func (s *S3) Sweep(ctx context.Context, olderThan time.Duration, now time.Time) (SweepResult, error) {
	var res SweepResult
	if olderThan <= 0 {
		return res, errors.New("sweep: olderThan must be positive")
	}
	cutoff := now.Add(-olderThan)
	for _, prefix := range SweepPrefixes {
		ups, err := s.pending(ctx, prefix)
		if err != nil {
			return res, fmt.Errorf("sweep: %w", err)
		}
		res.Found += len(ups)
		for _, u := range ups {
			if u.initiated.IsZero() || !u.initiated.Before(cutoff) || s.running(u.id) {
				continue
			}
			_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: &s.bucket, Key: &u.fullKey, UploadId: &u.id,
			})
			err = s.wrap("abort upload", u.key, err)
			switch {
			case err == nil || hasCode(err, "NoSuchUpload"):
				res.Aborted++
				s.metrics.sweptOne(s.name)
				s.log.Info("aborted a stale s3 multipart upload", "key", u.key, "upload_id", u.id,
					"initiated", u.initiated.UTC().Format(time.RFC3339))
			case ctx.Err() != nil:
				return res, fmt.Errorf("sweep: %w", ctx.Err())
			default:
				res.Failed++
				s.abortFailed(u.key, u.id, err)
			}
		}
	}
	return res, nil
}

// uploadTime is an upload's initiation time; zero when the server sent none.
func uploadTime(t *time.Time) time.Time { return aws.ToTime(t) }

// trimPrefix is the key relative to the store's prefix.
func (s *S3) trimPrefix(fullKey string) string { return strings.TrimPrefix(fullKey, s.prefix) }
