package storage

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// sendsChecksums reports whether Puts to cfg send x-amz-checksum-sha256:
// always with an Object Lock (AWS requires a checksum then), else for every
// S3 family type but gcs and b2, whose S3 layers are not known to take it.
func sendsChecksums(cfg Config) bool {
	if cfg.ObjectLock.Enabled() {
		return true
	}
	return cfg.Type != TypeGCS && cfg.Type != TypeB2
}

// partChecksum is the base64 SHA-256 of b for x-amz-checksum-sha256, or nil
// when the store does not send checksums. The service checks it, so bytes
// damaged on the way are refused, and keeps it for Stat.
func (s *S3) partChecksum(b []byte) *string {
	if !s.checksums {
		return nil
	}
	sum := sha256.Sum256(b)
	v := base64.StdEncoding.EncodeToString(sum[:])
	return &v
}

// parseSHA256 turns the x-amz-checksum-sha256 of a HeadObject answer into
// Info.SHA256 (hex, whole object only) and Info.Checksum. A multipart
// object's value is "<base64>-<parts>" (COMPOSITE): a checksum of the
// parts' checksums, not of the object.
func parseSHA256(v string, typ types.ChecksumType) (sha string, checksum string) {
	if v == "" {
		return "", ""
	}
	b64, parts, composite := strings.Cut(v, "-")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return "", ""
	}
	h := hex.EncodeToString(raw)
	if composite || typ == types.ChecksumTypeComposite {
		if parts != "" {
			h += "-" + parts
		}
		return "", "sha256-composite:" + h
	}
	return h, "sha256:" + h
}
