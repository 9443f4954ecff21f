package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// pendingUpload is an incomplete multipart upload.
type pendingUpload struct {
	key, fullKey, id string
	initiated        time.Time
}

// pending lists the incomplete multipart uploads under prefix.
func (s *S3) pending(ctx context.Context, prefix string) ([]pendingUpload, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	full := s.prefix + prefix
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &full}
	var out []pendingUpload
	for {
		page, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			if err = s.wrap("list uploads", prefix, err); hasCode(err, "NoSuchUpload") {
				return out, nil // gofakes3 answers so for a bucket that never had one
			}
			return nil, err
		}
		for _, up := range page.Uploads {
			fk := aws.ToString(up.Key)
			out = append(out, pendingUpload{key: s.trimPrefix(fk), fullKey: fk, id: aws.ToString(up.UploadId),
				initiated: uploadTime(up.Initiated)})
		}
		if !aws.ToBool(page.IsTruncated) || page.NextKeyMarker == nil {
			return out, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}

// Incomplete lists the keys of incomplete multipart uploads under prefix.
func (s *S3) Incomplete(ctx context.Context, prefix string) ([]string, error) {
	ups, err := s.pending(ctx, prefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ups))
	for i, u := range ups {
		keys[i] = u.key
	}
	return keys, nil
}

// Cleanup aborts incomplete multipart uploads under prefix, except those of
// Puts running through this Store.
func (s *S3) Cleanup(ctx context.Context, prefix string) error {
	ups, err := s.pending(ctx, prefix)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	for _, u := range ups {
		if s.running(u.id) {
			continue
		}
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: &s.bucket, Key: &u.fullKey, UploadId: &u.id,
		})
		if err = s.wrap("abort upload", u.key, err); err != nil && !hasCode(err, "NoSuchUpload") {
			s.abortFailed(u.key, u.id, err)
			return fmt.Errorf("cleanup: %w", err)
		}
	}
	return nil
}
