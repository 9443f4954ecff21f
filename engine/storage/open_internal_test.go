package storage

import (
	"strings"
	"testing"
)

func TestResolveS3(t *testing.T) {
	base := func(c Config) Config {
		c.Bucket, c.AccessKey, c.SecretKey = "b", "ak", "sk-secret"
		return c
	}
	tests := []struct {
		name                     string
		in                       Config
		endpoint, region, prefix string
		pathStyle                bool
		wantErr                  string
	}{
		{name: "aws default endpoint", in: base(Config{Type: "s3", Region: "eu-west-1"}),
			endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1"},
		{name: "empty type is s3, auto region", in: base(Config{Region: "auto"}),
			endpoint: "https://s3.us-east-1.amazonaws.com", region: "us-east-1"},
		{name: "r2 signs with auto", in: base(Config{Type: "r2", Endpoint: "https://acc.r2.cloudflarestorage.com", PathStyle: true}),
			endpoint: "https://acc.r2.cloudflarestorage.com", region: "auto", pathStyle: true},
		{name: "r2 needs an endpoint", in: base(Config{Type: "r2"}), wantErr: "endpoint is required"},
		{name: "minio defaults to localhost and path style", in: base(Config{Type: "minio"}),
			endpoint: "http://localhost:9000", region: "us-east-1", pathStyle: true},
		{name: "gcs default endpoint", in: base(Config{Type: "gcs", Region: "auto"}),
			endpoint: "https://storage.googleapis.com", region: "us-east-1"},
		{name: "b2 endpoint from region", in: base(Config{Type: "b2", Region: "us-west-004"}),
			endpoint: "https://s3.us-west-004.backblazeb2.com", region: "us-west-004"},
		{name: "b2 needs endpoint or region", in: base(Config{Type: "b2"}), wantErr: "endpoint or region"},
		{name: "host without scheme gets https", in: base(Config{Type: "s3-compat", Endpoint: "minio.example.com:9000/"}),
			endpoint: "https://minio.example.com:9000", region: "us-east-1"},
		{name: "prefix trimmed", in: base(Config{Type: "s3-compat", Endpoint: "http://h", Prefix: "/team/jagad/"}),
			endpoint: "http://h", region: "us-east-1", prefix: "team/jagad"},
		{name: "prefix escaping", in: base(Config{Type: "s3-compat", Endpoint: "http://h", Prefix: "a/../b"}), wantErr: "prefix"},
		{name: "bad scheme", in: base(Config{Type: "s3-compat", Endpoint: "ftp://h"}), wantErr: "scheme"},
		{name: "credentials in endpoint", in: base(Config{Type: "s3-compat", Endpoint: "https://u:hunter2@h"}), wantErr: "must not contain credentials"},
		{name: "bucket required", in: Config{Type: "s3", AccessKey: "a", SecretKey: "s"}, wantErr: "bucket is required"},
		{name: "keys required", in: Config{Type: "s3", Bucket: "b"}, wantErr: "secret key are required"},
		{name: "part size too small", in: base(Config{Type: "s3", PartSize: 1 << 20}), wantErr: "part size"},
		{name: "concurrency too big", in: base(Config{Type: "s3", Concurrency: 1000}), wantErr: "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveS3(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sk-secret") {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveS3: %v", err)
			}
			if got.Endpoint != tt.endpoint || got.Region != tt.region || got.PathStyle != tt.pathStyle || got.Prefix != tt.prefix {
				t.Fatalf("got endpoint %q region %q path style %v prefix %q; want %q %q %v %q",
					got.Endpoint, got.Region, got.PathStyle, got.Prefix, tt.endpoint, tt.region, tt.pathStyle, tt.prefix)
			}
			if got.PartSize != 8<<20 || got.Concurrency != 2 || got.MaxAttempts != 4 {
				t.Fatalf("transfer defaults = %d, %d, %d", got.PartSize, got.Concurrency, got.MaxAttempts)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, cfg := range []Config{{Type: "local"}, {Type: "ftp", Path: "/x"}} {
		if _, err := Open(cfg); err == nil {
			t.Errorf("Open(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestPartSizeGrowth(t *testing.T) {
	s := &S3{partSize: 8 << 20}
	var total int64
	for n := 1; n <= maxParts; n++ {
		total += s.partSizeFor(n)
	}
	if s.partSizeFor(1) != 8<<20 || s.partSizeFor(2000) != 8<<20 || s.partSizeFor(2001) != 16<<20 || s.partSizeFor(10000) != 128<<20 {
		t.Fatalf("part sizes 1/2000/2001/10000 = %d/%d/%d/%d", s.partSizeFor(1), s.partSizeFor(2000), s.partSizeFor(2001), s.partSizeFor(10000))
	}
	if total < 400<<30 {
		t.Fatalf("10000 parts hold %d bytes, want > 400 GiB", total)
	}
}
