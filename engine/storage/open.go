package storage

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

const (
	defaultPartSize    = 8 << 20
	minPartSize        = 5 << 20
	maxPartSize        = 5 << 30
	defaultConcurrency = 2
	defaultMaxAttempts = 4
	signingRegion      = "us-east-1"
)

// Provider types accepted by Open.
const (
	TypeLocal    = "local"
	TypeS3       = "s3"
	TypeR2       = "r2"
	TypeMinIO    = "minio"
	TypeGCS      = "gcs"
	TypeB2       = "b2"
	TypeS3Compat = "s3-compat"
)

// DefaultPathStyle is the path-style default for a provider type when the
// configuration does not say: virtual-hosted for AWS S3 and GCS, path style
// for the others (MinIO requires it; R2, B2 and most S3-compatible services
// accept it).
func DefaultPathStyle(providerType string) bool {
	switch providerType {
	case TypeS3, "", TypeGCS:
		return false
	default:
		return true
	}
}

// Open validates cfg and returns the Store it describes. It does not contact
// the backend; use Probe for that.
func Open(cfg Config) (Store, error) {
	switch cfg.Type {
	case TypeLocal:
		return openLocal(cfg)
	case "", TypeS3, TypeR2, TypeMinIO, TypeGCS, TypeB2, TypeS3Compat:
		rc, err := resolveS3(cfg)
		if err != nil {
			return nil, err
		}
		return newS3(rc)
	default:
		return nil, fmt.Errorf("unknown storage type %q (want local, s3, r2, minio, gcs, b2 or s3-compat)", cfg.Type)
	}
}

func openLocal(cfg Config) (Store, error) {
	if cfg.ObjectLock.Enabled() {
		return nil, errors.New("local storage: object lock is only supported by S3 storage")
	}
	if cfg.Path == "" {
		return nil, errors.New("local storage: path is required")
	}
	root, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("local storage: path %q: %w", cfg.Path, err)
	}
	return NewLocal(root), nil
}

// resolveS3 applies the provider type's defaults (JAGAD-REFERENCE §2.6) and validates.
func resolveS3(cfg Config) (Config, error) {
	if cfg.Type == "" {
		cfg.Type = TypeS3
	}
	region := strings.TrimSpace(cfg.Region)
	if strings.EqualFold(region, "auto") {
		region = ""
	}
	if cfg.Endpoint == "" {
		switch cfg.Type {
		case TypeS3:
			r := region
			if r == "" {
				r = signingRegion
			}
			cfg.Endpoint = "https://s3." + r + ".amazonaws.com"
		case TypeGCS:
			cfg.Endpoint = "https://storage.googleapis.com"
		case TypeMinIO:
			cfg.Endpoint = "http://localhost:9000"
		case TypeB2:
			if region == "" {
				return cfg, errors.New("b2 storage: endpoint or region is required")
			}
			cfg.Endpoint = "https://s3." + region + ".backblazeb2.com"
		default:
			return cfg, fmt.Errorf("%s storage: endpoint is required", cfg.Type)
		}
	}
	if region == "" {
		region = signingRegion
		if cfg.Type == TypeR2 {
			region = "auto" // R2 signs with "auto"
		}
	}
	cfg.Region = region
	if cfg.Type == TypeMinIO {
		cfg.PathStyle = true
	}
	ep, err := normalizeEndpoint(cfg.Endpoint)
	if err != nil {
		return cfg, fmt.Errorf("%s storage: %w", cfg.Type, err)
	}
	cfg.Endpoint = ep
	if cfg.Bucket == "" {
		return cfg, fmt.Errorf("%s storage: bucket is required", cfg.Type)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return cfg, fmt.Errorf("%s storage: access key and secret key are required", cfg.Type)
	}
	lock, err := cfg.ObjectLock.normalize()
	if err != nil {
		return cfg, fmt.Errorf("%s storage: %w", cfg.Type, err)
	}
	cfg.ObjectLock = lock
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	if cfg.Prefix != "" {
		if err := validateKey(cfg.Prefix); err != nil {
			return cfg, fmt.Errorf("%s storage: prefix: %w", cfg.Type, err)
		}
	}
	return withTransferDefaults(cfg)
}

func withTransferDefaults(cfg Config) (Config, error) {
	if cfg.PartSize == 0 {
		cfg.PartSize = defaultPartSize
	}
	if cfg.PartSize < minPartSize || cfg.PartSize > maxPartSize {
		return cfg, fmt.Errorf("%s storage: part size %d out of range [5 MiB, 5 GiB]", cfg.Type, cfg.PartSize)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.Concurrency < 1 || cfg.Concurrency > 64 {
		return cfg, fmt.Errorf("%s storage: concurrency %d out of range [1, 64]", cfg.Type, cfg.Concurrency)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = defaultMaxAttempts
	}
	if cfg.MaxAttempts < 1 {
		return cfg, fmt.Errorf("%s storage: max attempts %d must be at least 1", cfg.Type, cfg.MaxAttempts)
	}
	return cfg, nil
}

// normalizeEndpoint accepts "host[:port]" (https assumed) or an http(s) URL.
func normalizeEndpoint(ep string) (string, error) {
	ep = strings.TrimSpace(ep)
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil {
		return "", errors.New("endpoint is not a valid URL") // the text may hold credentials: not echoed
	}
	if u.User != nil {
		return "", errors.New("endpoint must not contain credentials")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("endpoint %q: scheme must be http or https", u.String())
	}
	if u.Host == "" {
		return "", fmt.Errorf("endpoint %q: no host", u.String())
	}
	return strings.TrimRight(u.String(), "/"), nil
}
