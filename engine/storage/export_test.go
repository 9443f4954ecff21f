package storage

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DeleteObjectUnchecked deletes key of an S3 store without Delete's
// retention check, so a test sees how the service refuses a locked object.
func DeleteObjectUnchecked(ctx context.Context, st Store, key string) error {
	s := st.(*S3)
	fk, err := s.fullKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &fk})
	err = s.wrap("delete", key, err)
	if isLockRefusal(err) {
		return &LockedError{Key: key, Err: err}
	}
	return err
}

// SetCopyLimit makes Copy into the S3 store st use UploadPartCopy parts of
// partSize for objects larger than limit.
func SetCopyLimit(st Store, limit, partSize int64) {
	s := st.(*S3)
	s.copyLimit, s.copyPartSize = limit, partSize
}
