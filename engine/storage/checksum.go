package storage

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// checksumMode says which uploads send x-amz-checksum-sha256. The service
// checks it, so bytes damaged on the way are refused, and keeps it for Stat.
type checksumMode struct {
	small bool // one-part PutObjects (objects under one part: manifests, small backups)
	parts bool // multipart uploads, every part
}

// checksumsFor picks the checksums of cfg's uploads. One-part objects get
// one on every S3 family type but gcs and b2 (whose S3 layers are not known
// to take it): hashing at most one part costs little, and Stat then gives the
// object's SHA-256. Multipart uploads get them only with an Object Lock,
// which AWS requires a checksum for: hashing every part costs a third
// SHA-256 pass over a backup (about +40% of the upload's client CPU on
// versitygw), and their composite checksum is not the object's SHA-256 (the
// ETag tells a replaced object as well).
func checksumsFor(cfg Config) checksumMode {
	if cfg.ObjectLock.Enabled() {
		return checksumMode{small: true, parts: true}
	}
	return checksumMode{small: cfg.Type != TypeGCS && cfg.Type != TypeB2}
}

// sha256Header is the base64 SHA-256 of b for x-amz-checksum-sha256, or nil
// when on is false.
func sha256Header(on bool, b []byte) *string {
	if !on {
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
