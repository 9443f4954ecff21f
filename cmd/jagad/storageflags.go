package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// storageFlags select a store from the command line and the environment.
type storageFlags struct {
	typ, path, endpoint, bucket, region, prefix string
	pathStyle                                   bool
	pathStyleSet                                bool
}

func addStorageFlags(fs *flag.FlagSet) *storageFlags {
	s := &storageFlags{}
	fs.StringVar(&s.typ, "storage-type", "", "")
	fs.StringVar(&s.path, "path", "", "")
	fs.StringVar(&s.endpoint, "endpoint", "", "")
	fs.StringVar(&s.bucket, "bucket", "", "")
	fs.StringVar(&s.region, "region", "", "")
	fs.StringVar(&s.prefix, "prefix", "", "")
	fs.BoolFunc("path-style", "", func(v string) error {
		b, err := strconv.ParseBool(v)
		s.pathStyle, s.pathStyleSet = b, true
		return err
	})
	return s
}

// spec is the provider these flags describe; secrets come from env only.
func (s *storageFlags) spec(env func(string) (string, bool)) (state.ProviderSpec, error) {
	if s.typ == "" {
		return state.ProviderSpec{}, usagef("--storage-type is required (local, s3, r2, minio, gcs, b2 or s3-compat)")
	}
	p := state.ProviderSpec{ProviderType: s.typ, Endpoint: s.endpoint, Region: s.region, Bucket: s.bucket,
		Prefix: s.prefix, PathStyle: storage.DefaultPathStyle(s.typ)}
	if s.pathStyleSet {
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
