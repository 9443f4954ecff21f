package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

var providerTypes = []string{"local", "s3", "r2", "minio", "gcs", "b2", "s3-compat"}

// ObjectLock is an S3 Object Lock retention set on every object uploaded:
// Mode governance or compliance, for Days days after the upload.
type ObjectLock struct {
	Mode string `yaml:"mode"` // governance | compliance
	Days int    `yaml:"days"`
}

var objectLockModes = []string{"governance", "compliance"}

// MaxObjectLockDays bounds object_lock.days (100 years, as S3 does).
const MaxObjectLockDays = 36500

// validateObjectLock checks an object_lock mapping.
func validateObjectLock(l ObjectLock, errs *fieldErrs) {
	if !oneOf(l.Mode, objectLockModes...) {
		errs.add("object_lock.mode", "%s", enumError(l.Mode, objectLockModes...))
	}
	if l.Days < 1 || l.Days > MaxObjectLockDays {
		errs.add("object_lock.days", "must be 1 to %d days, got %d", MaxObjectLockDays, l.Days)
	}
}

// ValidateStorage checks every field of s. Call s.SetDefaults() first to
// derive the endpoint and region.
func ValidateStorage(s Storage) []FieldError {
	var errs fieldErrs
	errs.addErr("name", CheckName(s.Name))
	if !oneOf(s.ProviderType, providerTypes...) {
		errs.add("provider_type", "%s", enumError(s.ProviderType, providerTypes...))
		return errs
	}
	errs.addErr("prefix", checkPrefix(s.Prefix))
	if s.ProviderType == "local" {
		validateLocal(s, &errs)
		return errs
	}
	if s.Path != "" {
		errs.add("path", "is only used by provider_type local")
	}
	errs.addErr("bucket", CheckBucket(s.Bucket))
	// For s3 an empty endpoint is derived from the region by SetDefaults.
	if s.Endpoint != "" || s.ProviderType != "s3" {
		errs.addErr("endpoint", checkHTTPURL(s.Endpoint, false))
	}
	switch {
	case s.ProviderType == "s3" && s.Region == "":
		errs.add("region", "is required for provider_type s3")
	case hasControl(s.Region) || strings.ContainsAny(s.Region, " /"):
		errs.add("region", "must not contain spaces, '/' or control characters")
	}
	// Keys are required: Jagad signs with them and uses no ambient (IAM,
	// environment) credentials, so a provider without them could only fail
	// at its first backup.
	if s.AccessKey == "" {
		errs.add("access_key", "is required for provider_type %s", s.ProviderType)
	}
	if s.SecretKey == "" {
		errs.add("secret_key", "is required for provider_type %s", s.ProviderType)
	}
	if s.ObjectLock != nil {
		validateObjectLock(*s.ObjectLock, &errs)
	}
	return errs
}

func validateLocal(s Storage, errs *fieldErrs) {
	switch {
	case s.Path == "":
		errs.add("path", "is required for provider_type local")
	case !filepath.IsAbs(s.Path):
		errs.add("path", "must be an absolute path")
	case hasControl(s.Path):
		errs.add("path", "must not contain control characters")
	}
	unused := []struct{ field, value string }{
		{"endpoint", s.Endpoint}, {"region", s.Region}, {"bucket", s.Bucket},
		{"access_key", s.AccessKey}, {"secret_key", s.SecretKey},
	}
	for _, u := range unused {
		if u.value != "" {
			errs.add(u.field, "is not used by provider_type local")
		}
	}
	if s.PathStyle != nil {
		errs.add("path_style", "is not used by provider_type local")
	}
	if s.ObjectLock != nil {
		errs.add("object_lock", "is only supported by S3 storage, not provider_type local")
	}
}

// CheckBucket checks a bucket name: 3-63 characters of letters, digits,
// '.', '-' and '_', starting and ending with a letter or digit.
func CheckBucket(b string) error {
	if b == "" {
		return fmt.Errorf("is required for the S3 family")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("must be 3 to 63 characters, got %d", len(b))
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && c != '.' && c != '-' && c != '_' {
			return fmt.Errorf("may contain only letters, digits, '.', '-' and '_'")
		}
		if !alnum && (i == 0 || i == len(b)-1) {
			return fmt.Errorf("must start and end with a letter or digit")
		}
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("must not contain \"..\"")
	}
	return nil
}

// checkPrefix checks an optional key prefix ("prod/").
func checkPrefix(p string) error {
	switch {
	case p == "":
		return nil
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("must not start with '/'")
	case hasControl(p) || strings.Contains(p, `\`):
		return fmt.Errorf("must not contain control characters or '\\'")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return fmt.Errorf("must not contain '.' or '..' segments")
		}
	}
	return nil
}
