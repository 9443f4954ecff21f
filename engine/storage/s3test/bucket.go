package s3test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jagad/jagad/engine/storage"
)

// AddBucket creates bucket on the server cfg points at (gofakes3 or
// versitygw), with Object Lock enabled when objectLock is set, and returns
// cfg for that bucket. versitygw enforces Object Lock; gofakes3 accepts the
// headers but enforces nothing.
func AddBucket(tb testing.TB, cfg storage.Config, bucket string, objectLock bool) storage.Config {
	tb.Helper()
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(cfg.Endpoint),
		Region:       cfg.Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if objectLock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	if _, err := client.CreateBucket(ctx, in); err != nil {
		tb.Fatalf("create bucket %s: %v", bucket, err)
	}
	cfg.Bucket = bucket
	return cfg
}
