package storage_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/engine/storage/storagetest"
)

const benchSize = 64 << 20

func benchmarkPut(b *testing.B, s storage.Store) {
	data := make([]byte, benchSize)
	if _, err := io.ReadFull(storagetest.Data(11, benchSize), data); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		if n, err := s.Put(context.Background(), "bench/obj", bytes.NewReader(data)); err != nil || n != benchSize {
			b.Fatalf("Put = %d, %v", n, err)
		}
	}
}

func BenchmarkPutLocal(b *testing.B) {
	benchmarkPut(b, mustOpen(b, storage.Config{Type: storage.TypeLocal, Path: b.TempDir()}))
}

func BenchmarkPutFakeS3(b *testing.B) {
	benchmarkPut(b, mustOpen(b, s3test.StartFake(b)))
}

func BenchmarkPutVersity(b *testing.B) {
	benchmarkPut(b, mustOpen(b, s3test.StartVersity(b)))
}
