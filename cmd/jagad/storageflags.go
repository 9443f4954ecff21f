package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// storageFlags select a store from the command line and the environment.
type storageFlags struct {
	typ, path, endpoint, bucket, region, prefix string
	pathStyle                                   bool
	flags                                       *pflag.FlagSet // tells whether --path-style was given
}

// addStorageFlags defines the storage flags on fs. Keys come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never from flags.
func addStorageFlags(fs *pflag.FlagSet) *storageFlags {
	s := &storageFlags{flags: fs}
	fs.StringVar(&s.typ, "storage-type", "", "storage `TYPE`: local | s3 | r2 | minio | gcs | b2 | s3-compat")
	fs.StringVar(&s.path, "path", "", "local storage: the storage `DIR`")
	fs.StringVar(&s.endpoint, "endpoint", "", "S3 family: endpoint `URL`")
	fs.StringVar(&s.bucket, "bucket", "", "S3 family: `BUCKET`")
	fs.StringVar(&s.region, "region", "", "S3 family: `REGION`")
	fs.StringVar(&s.prefix, "prefix", "", "S3 family: key `PREFIX` inside the bucket")
	fs.BoolVar(&s.pathStyle, "path-style", false, "S3 family: path-style addressing (default: the storage type's)")
	return s
}

// spec is the provider these flags describe; secrets come from env only.
func (s *storageFlags) spec(env func(string) (string, bool)) (state.ProviderSpec, error) {
	if s.typ == "" {
		return state.ProviderSpec{}, usagef("--storage-type is required (local, s3, r2, minio, gcs, b2 or s3-compat)")
	}
	p := state.ProviderSpec{ProviderType: s.typ, Endpoint: s.endpoint, Region: s.region, Bucket: s.bucket,
		Prefix: s.prefix, PathStyle: storage.DefaultPathStyle(s.typ)}
	if s.flags.Changed("path-style") {
		p.PathStyle = s.pathStyle
	}
	if s.typ == storage.TypeLocal {
		if s.path == "" {
			return p, usagef("--path is required for local storage")
		}
		abs, err := filepath.Abs(s.path)
		if err != nil {
			return p, err
		}
		p.Path = abs
	} else {
		p.AccessKey = envOr(env, "AWS_ACCESS_KEY_ID", "")
		p.SecretKey = state.Secret(envOr(env, "AWS_SECRET_ACCESS_KEY", ""))
	}
	return p, nil
}

func openStorage(p state.ProviderSpec) (storage.Store, error) {
	return storage.Open(storage.Config{Type: p.ProviderType, Path: p.Path, Endpoint: p.Endpoint, Region: p.Region,
		Bucket: p.Bucket, Prefix: p.Prefix, AccessKey: p.AccessKey, SecretKey: p.SecretKey.Reveal(), PathStyle: p.PathStyle})
}

// signalContext is the context of an offline command: cancelled by
// SIGINT/SIGTERM or after timeout.
func signalContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}
