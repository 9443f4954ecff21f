// Package storage stores backup objects: on a local filesystem or in an
// S3-compatible object store (AWS S3, Cloudflare R2, MinIO, GCS, Backblaze B2,
// and any other S3-compatible service).
//
// Every implementation streams, never holds a whole object in memory, and
// writes atomically: an object appears only when it is complete, and a failed
// or cancelled Put leaves nothing behind.
package storage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// ErrNotFound is returned by Get and Stat when the key does not exist.
var ErrNotFound = errors.New("object not found")

// ErrNoSpace is wrapped into the error of a Put that ran out of disk space.
var ErrNoSpace = errors.New("no space left on storage")

// ErrLocked is wrapped into the error of a Delete that the store refuses
// because the object is under an S3 Object Lock retention (a *LockedError
// with the retain-until date when the store reports it).
var ErrLocked = errors.New("object is locked")

// ErrChecksum is wrapped into the error of a Copy whose bytes do not match
// the expected SHA-256 or size.
var ErrChecksum = errors.New("checksum mismatch")

// Info describes a stored object. Key is relative to the store's root/prefix.
// List fills Key, Size, ModTime (and ETag on S3); Stat fills the others when the store
// reports them.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
	// SHA256 is the hex SHA-256 of the whole object when the store knows it
	// without a read (an S3 object stored by one PutObject or CopyObject with
	// a SHA-256 checksum); "" otherwise.
	SHA256 string
	// Checksum is the store's own checksum as it reports it: "sha256:<hex>"
	// for a whole-object SHA-256, "sha256-composite:<hex>-<parts>" for a
	// multipart upload (the SHA-256 of the parts' SHA-256s); "" when none.
	// It changes when the object is replaced, so a value recorded after Put
	// can be compared by a later Stat without reading the object.
	Checksum string
	// ETag is the S3 entity tag (without quotes; List fills it too): it
	// changes when the object is replaced, like Checksum, and every S3
	// object has one. "" for local files.
	ETag string
	// LockMode ("GOVERNANCE", "COMPLIANCE") and RetainUntil describe an S3
	// Object Lock retention on the object; empty when there is none.
	LockMode    string
	RetainUntil time.Time
}

// Store is a place backups are written to and read from.
type Store interface {
	// Put streams r into key. It is atomic: the object appears only when
	// complete; on any error (reader error, ctx cancel, backend failure)
	// nothing is left behind. Returns the bytes stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get opens key for reading; ErrNotFound when missing.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes key; ErrNotFound when missing.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a missing key is not an error. An object under an
	// unexpired S3 Object Lock retention is kept: the error wraps ErrLocked.
	Delete(ctx context.Context, key string) error
	// List returns the objects whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Cleanup removes leftovers of interrupted Puts under prefix (local temp
	// files, S3 incomplete multipart uploads). Puts running in this process
	// through the same Store are left alone.
	Cleanup(ctx context.Context, prefix string) error
	// String names the store ("local:/path", "s3:bucket/prefix"), never credentials.
	String() string
}

// IncompleteLister is implemented by every Store of this package: it lists the
// keys of leftovers of interrupted Puts under prefix (what Cleanup would remove).
type IncompleteLister interface {
	Incomplete(ctx context.Context, prefix string) ([]string, error)
}

// Config selects and configures a Store. Type is one of local, s3, r2, minio,
// gcs, b2, s3-compat ("" means s3).
type Config struct {
	Type      string
	Path      string // local: root directory
	Endpoint  string // S3 family: URL, "https://" assumed when no scheme is given
	Region    string // "" or "auto": the provider's default
	Bucket    string
	Prefix    string // optional key prefix inside the bucket
	AccessKey string
	SecretKey string
	PathStyle bool // minio always uses path style; see DefaultPathStyle

	PartSize    int64        // multipart part size, default 8 MiB, minimum 5 MiB
	Concurrency int          // parts uploaded at once, default 2
	MaxAttempts int          // attempts per S3 request (SDK retries), default 4
	HTTPClient  *http.Client // optional; default has dial/TLS/header timeouts and dials through Runtime.Guard

	// ObjectLock, when Mode is set, makes every Put (except Probe's) store
	// the object under an S3 Object Lock retention of Days days. The bucket
	// must have Object Lock enabled; Probe checks it.
	ObjectLock ObjectLock

	// Name is the provider's name, for log lines and metric labels ("" : String()).
	Name    string
	Runtime Runtime
}

// Compile-time checks.
var (
	_ Store            = (*Local)(nil)
	_ Store            = (*S3)(nil)
	_ IncompleteLister = (*Local)(nil)
	_ IncompleteLister = (*S3)(nil)
)
