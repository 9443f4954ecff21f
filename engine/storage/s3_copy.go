package storage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// maxCopyObject is the largest object one CopyObject copies (S3's limit);
// larger ones are copied part by part with UploadPartCopy.
const maxCopyObject = 5 << 30

// copyFrom copies srcKey of src (same service) to dstKey of s. The copy gets
// s's Object Lock and a SHA-256 checksum the service computes over it.
func (s *S3) copyFrom(ctx context.Context, src *S3, srcKey, dstKey string, size int64) error {
	sk, err := src.fullKey(srcKey)
	if err != nil {
		return err
	}
	dk, err := s.fullKey(dstKey)
	if err != nil {
		return err
	}
	source := src.copySource(sk)
	if size > s.copyLimit {
		return s.copyParts(ctx, source, dstKey, dk, size)
	}
	mode, until := s.retention(dstKey, time.Now())
	in := &s3.CopyObjectInput{Bucket: &s.bucket, Key: &dk, CopySource: &source,
		ObjectLockMode: mode, ObjectLockRetainUntilDate: until}
	if s.checksums.small {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
	}
	_, err = s.client.CopyObject(ctx, in)
	if err != nil && ctx.Err() != nil {
		s.removeQuietly(dstKey, dk) // cancelled in flight: it may have landed
	}
	return s.wrap("copy", dstKey, err)
}

// copyParts copies an object larger than one CopyObject allows as a
// multipart upload of UploadPartCopy ranges, one at a time (the service
// moves the bytes), aborted on failure. It asks for no checksum: services
// disagree on the checksum of a copied range (versitygw answers the
// source's), and a wrong one fails the completion.
func (s *S3) copyParts(ctx context.Context, source, key, fk string, size int64) error {
	mode, until := s.retention(key, time.Now())
	in := &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &fk, ObjectLockMode: mode, ObjectLockRetainUntilDate: until}
	out, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return s.wrap("copy", key, err)
	}
	u := &upload{s: s, key: key, fk: fk, id: aws.ToString(out.UploadId), ctx: ctx}
	s.track(u.id, true)
	defer s.track(u.id, false)
	part := max(s.copyPartSize, (size+maxParts-1)/maxParts)
	for num, off := int32(1), int64(0); off < size; num, off = num+1, off+part {
		rng := fmt.Sprintf("bytes=%d-%d", off, min(off+part, size)-1)
		res, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &s.bucket, Key: &fk,
			UploadId: &u.id, PartNumber: aws.Int32(num), CopySource: &source, CopySourceRange: &rng})
		if err != nil {
			_ = u.abort()
			return s.wrap(fmt.Sprintf("copy part %d", num), key, err)
		}
		cp := types.CompletedPart{PartNumber: aws.Int32(num)}
		if r := res.CopyPartResult; r != nil {
			cp.ETag = r.ETag
		}
		u.parts = append(u.parts, cp)
	}
	sort.Slice(u.parts, func(i, j int) bool { return *u.parts[i].PartNumber < *u.parts[j].PartNumber })
	if err := u.complete(); err != nil {
		if u.abort() == errUploadGone {
			s.removeQuietly(key, fk)
		}
		return err
	}
	return nil
}
