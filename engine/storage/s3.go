package storage

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jagad/jagad/engine/netguard"
)

// S3 stores objects in a bucket of an S3-compatible service.
type S3 struct {
	client       *s3.Client
	bucket       string
	prefix       string // "" or "a/b/" (with trailing slash)
	secret       string // only to scrub error text
	partSize     int64
	concurrency  int
	endpoint     string // with region and accessKey (and secret): Copy's same-service test
	region       string
	accessKey    string
	copyLimit    int64        // largest object copied by one CopyObject
	copyPartSize int64        // UploadPartCopy part size above copyLimit
	lock         ObjectLock   // applied by Put; zero: none
	checksums    checksumMode // which Puts send x-amz-checksum-sha256
	name         string       // provider name: log lines and metric labels
	log          *slog.Logger
	metrics      *Metrics

	mu       sync.Mutex
	inFlight map[string]struct{} // upload IDs of running multipart Puts
}

func newS3(cfg Config) (*S3, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(cfg.Runtime.guard())
	}
	maxAttempts := cfg.MaxAttempts
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(cfg.Endpoint),
		Region:       cfg.Region,
		UsePathStyle: cfg.PathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		HTTPClient:   hc,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = 10 * time.Second
			// A backup daemon retries over hours; the client-side retry quota
			// would otherwise turn a bad minute into failed backups later.
			o.RateLimiter = ratelimit.None
			// A refusal by the network policy will not change on retry.
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if errors.Is(err, netguard.ErrBlocked) {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, o.Retryables...)
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	s := &S3{
		client:       client,
		bucket:       cfg.Bucket,
		secret:       cfg.SecretKey,
		partSize:     cfg.PartSize,
		concurrency:  cfg.Concurrency,
		endpoint:     cfg.Endpoint,
		region:       cfg.Region,
		accessKey:    cfg.AccessKey,
		copyLimit:    maxCopyObject,
		copyPartSize: 512 << 20,
		lock:         cfg.ObjectLock,
		checksums:    checksumsFor(cfg),
		inFlight:     map[string]struct{}{},
		name:         cfg.Name,
		metrics:      cfg.Runtime.Metrics,
	}
	if cfg.Prefix != "" {
		s.prefix = cfg.Prefix + "/"
	}
	if s.name == "" {
		s.name = s.String()
	}
	s.log = cfg.Runtime.logger().With("component", "storage", "provider", s.name)
	return s, nil
}

// defaultHTTPClient limits each phase of a request, not its total duration:
// a multi-hour upload must not be cut off. Connections go through g, so an
// endpoint cannot point at a metadata service or a blocked range.
func defaultHTTPClient(g *netguard.Guard) *http.Client {
	t := g.Transport()
	return &http.Client{Transport: &http.Transport{
		Proxy:                 t.Proxy,
		DialContext:           g.DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute, // after the request body is sent
		ExpectContinueTimeout: 2 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}}
}

func (s *S3) String() string {
	if s.prefix == "" {
		return "s3:" + s.bucket
	}
	return "s3:" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *S3) fullKey(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Get streams the object.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	fk, err := s.fullKey(key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &fk})
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	return out.Body, nil
}

// Stat describes the object.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	fk, err := s.fullKey(key)
	if err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &fk, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return Info{}, s.wrap("stat", key, err)
	}
	info := Info{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified),
		ETag: strings.Trim(aws.ToString(out.ETag), `"`)}
	info.SHA256, info.Checksum = parseSHA256(aws.ToString(out.ChecksumSHA256), out.ChecksumType)
	info.LockMode, info.RetainUntil = lockInfo(out)
	return info, nil
}

// Delete removes the object; a missing object is not an error. An object
// under an unexpired Object Lock retention is not deleted: the error wraps
// ErrLocked and gives the retain-until date (on a versioned bucket a plain
// DeleteObject would only hide the locked version behind a delete marker).
func (s *S3) Delete(ctx context.Context, key string) error {
	fk, err := s.fullKey(key)
	if err != nil {
		return err
	}
	info, statErr := s.Stat(ctx, key)
	switch {
	case isNotFound(statErr):
		return nil
	case statErr == nil:
		if err := lockedNow(info, time.Now()); err != nil {
			return err
		}
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &fk})
	err = s.wrap("delete", key, err)
	switch {
	case err == nil || isNotFound(err):
		return nil
	case isLockRefusal(err):
		return &LockedError{Key: key, Mode: info.LockMode, RetainUntil: info.RetainUntil, Err: err}
	}
	return err
}

// List returns the objects under prefix, sorted by key.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	full := s.prefix + prefix
	var out []Info
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &full})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			out = append(out, Info{Key: k, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified),
				ETag: strings.Trim(aws.ToString(o.ETag), `"`)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *S3) track(uploadID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.inFlight[uploadID] = struct{}{}
	} else {
		delete(s.inFlight, uploadID)
	}
}

func (s *S3) running(uploadID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.inFlight[uploadID]
	return ok
}
