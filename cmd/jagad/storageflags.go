package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// parseStorageSpec reads one destination given as a single argument (a
// further copy of a backup, --fallback-storage), in the form the restore
// log names stores:
//
//	local:DIR
//	TYPE:BUCKET[/PREFIX][?endpoint=URL&region=R&path_style=true|false&keys=NAME]
//
// TYPE is s3, r2, minio, gcs, b2 or s3-compat. Keys come from the
// environment, never from the argument: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, or NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY
// with keys=NAME (a second bucket with keys of its own).
func parseStorageSpec(raw string, env func(string) (string, bool)) (state.ProviderSpec, error) {
	typ, rest, ok := strings.Cut(raw, ":")
	if !ok || rest == "" {
		return state.ProviderSpec{}, fmt.Errorf("%q: want local:DIR or TYPE:BUCKET[/PREFIX][?endpoint=URL&region=R&path_style=BOOL&keys=NAME]", raw)
	}
	if typ == storage.TypeLocal {
		abs, err := filepath.Abs(rest)
		if err != nil {
			return state.ProviderSpec{}, fmt.Errorf("%q: %w", raw, err)
		}
		return state.ProviderSpec{ProviderType: typ, Path: abs}, nil
	}
	if !slices.Contains([]string{storage.TypeS3, storage.TypeR2, storage.TypeMinIO, storage.TypeGCS, storage.TypeB2, storage.TypeS3Compat}, typ) {
		return state.ProviderSpec{}, fmt.Errorf("%q: unknown storage type %q (local, s3, r2, minio, gcs, b2 or s3-compat)", raw, typ)
	}
	where, query, _ := strings.Cut(rest, "?")
	bucket, prefix, _ := strings.Cut(where, "/")
	if bucket == "" {
		return state.ProviderSpec{}, fmt.Errorf("%q: no bucket", raw)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return state.ProviderSpec{}, fmt.Errorf("%q: %w", raw, err)
	}
	p := state.ProviderSpec{ProviderType: typ, Bucket: bucket, Prefix: prefix, PathStyle: storage.DefaultPathStyle(typ)}
	keys := "AWS"
	for k, v := range q {
		if len(v) != 1 {
			return p, fmt.Errorf("%q: %s given %d times", raw, k, len(v))
		}
		switch k {
		case "endpoint":
			p.Endpoint = v[0]
		case "region":
			p.Region = v[0]
		case "path_style":
			if p.PathStyle, err = strconv.ParseBool(v[0]); err != nil {
				return p, fmt.Errorf("%q: path_style: %w", raw, err)
			}
		case "keys":
			if keys = v[0]; keys == "" {
				return p, fmt.Errorf("%q: keys names the environment variables' prefix (keys=NAME: NAME_ACCESS_KEY_ID, NAME_SECRET_ACCESS_KEY)", raw)
			}
		case "access_key", "secret_key":
			return p, fmt.Errorf("%q: keys are never given on the command line; set %s_ACCESS_KEY_ID and %s_SECRET_ACCESS_KEY (keys=NAME picks another prefix)", raw, keys, keys)
		default:
			return p, fmt.Errorf("%q: unknown option %q (endpoint, region, path_style, keys)", raw, k)
		}
	}
	p.AccessKey = envOr(env, keys+"_ACCESS_KEY_ID", "")
	p.SecretKey = state.Secret(envOr(env, keys+"_SECRET_ACCESS_KEY", ""))
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
