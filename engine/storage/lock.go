package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Object Lock modes (S3 spelling; Config accepts either case).
const (
	LockGovernance = "GOVERNANCE"
	LockCompliance = "COMPLIANCE"
)

// maxLockDays bounds ObjectLock.Days (100 years, as S3 does).
const maxLockDays = 36500

// ObjectLock is an S3 Object Lock retention applied on upload: Mode
// governance or compliance, the object undeletable for Days days after it
// is stored. The zero value is off.
type ObjectLock struct {
	Mode string
	Days int
}

// Enabled reports whether the lock is configured.
func (l ObjectLock) Enabled() bool { return l.Mode != "" }

// normalize checks l and returns it with Mode in S3 spelling.
func (l ObjectLock) normalize() (ObjectLock, error) {
	if l.Mode == "" && l.Days == 0 {
		return ObjectLock{}, nil
	}
	switch strings.ToUpper(l.Mode) {
	case LockGovernance, LockCompliance:
		l.Mode = strings.ToUpper(l.Mode)
	default:
		return l, fmt.Errorf("object lock: mode %q (want governance or compliance)", l.Mode)
	}
	if l.Days < 1 || l.Days > maxLockDays {
		return l, fmt.Errorf("object lock: days %d out of range [1, %d]", l.Days, maxLockDays)
	}
	return l, nil
}

// LockedError is a Delete refused because of an Object Lock retention.
// It wraps ErrLocked.
type LockedError struct {
	Key         string
	Mode        string    // "" when not reported
	RetainUntil time.Time // zero when not reported
	Err         error     // the service's refusal, if it answered one
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("delete %q: object is locked", e.Key)
	if e.Mode != "" {
		msg += " (" + strings.ToLower(e.Mode) + " mode)"
	}
	if !e.RetainUntil.IsZero() {
		msg += " until " + e.RetainUntil.UTC().Format(time.RFC3339)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *LockedError) Unwrap() []error { return []error{ErrLocked, e.Err} }

// retention returns the Object Lock fields of a Put of key at now: none for
// Probe's objects (Probe deletes them) or when no lock is configured.
func (s *S3) retention(key string, now time.Time) (types.ObjectLockMode, *time.Time) {
	if !s.lock.Enabled() || strings.HasPrefix(key, ProbePrefix) {
		return "", nil
	}
	until := now.Add(time.Duration(s.lock.Days) * 24 * time.Hour).UTC()
	return types.ObjectLockMode(s.lock.Mode), &until
}

// lockedNow returns a *LockedError when info carries a retention that has
// not expired at now.
func lockedNow(info Info, now time.Time) error {
	if info.LockMode == "" || !info.RetainUntil.After(now) {
		return nil
	}
	return &LockedError{Key: info.Key, Mode: info.LockMode, RetainUntil: info.RetainUntil}
}

// isLockRefusal reports whether err is the service refusing to delete a
// locked object: AccessDenied naming the lock (AWS, versitygw: "object
// protected by object lock"; MinIO: "WORM protected").
func isLockRefusal(err error) bool {
	var e *s3Error
	if !errors.As(err, &e) || e.code != "AccessDenied" {
		return false
	}
	m := strings.ToLower(e.msg)
	return strings.Contains(m, "object lock") || strings.Contains(m, "worm") || strings.Contains(m, "retention")
}

// ObjectLockChecker is implemented by stores that can apply an Object Lock:
// CheckObjectLock reports, when the store is configured with one, whether
// the bucket can hold it. Probe calls it.
type ObjectLockChecker interface {
	CheckObjectLock(ctx context.Context) error
}

var _ ObjectLockChecker = (*S3)(nil)

// CheckObjectLock returns nil when no Object Lock is configured or when the
// bucket has Object Lock enabled; otherwise an error that says so.
func (s *S3) CheckObjectLock(ctx context.Context) error {
	if !s.lock.Enabled() {
		return nil
	}
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &s.bucket})
	err = s.wrap("get object lock configuration", s.bucket, err)
	switch {
	case hasCode(err, "ObjectLockConfigurationNotFoundError"):
		return s.lockNotEnabled()
	case hasCode(err, "AccessDenied"):
		return fmt.Errorf("cannot read the bucket's Object Lock configuration (the key needs s3:GetBucketObjectLockConfiguration): %w", err)
	case err != nil:
		return fmt.Errorf("cannot read the bucket's Object Lock configuration: %w", err)
	case out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled:
		return s.lockNotEnabled()
	}
	return nil
}

func (s *S3) lockNotEnabled() error {
	return fmt.Errorf("bucket %q does not have Object Lock enabled, but object_lock is set (%s, %d days); "+
		"enable it on the bucket (most services allow that only when the bucket is created) or remove object_lock",
		s.bucket, strings.ToLower(s.lock.Mode), s.lock.Days)
}

// lockInfo reads the Object Lock fields of a HeadObject answer.
func lockInfo(out *s3.HeadObjectOutput) (string, time.Time) {
	if out.ObjectLockMode == "" || out.ObjectLockRetainUntilDate == nil {
		return "", time.Time{}
	}
	return string(out.ObjectLockMode), aws.ToTime(out.ObjectLockRetainUntilDate).UTC()
}
