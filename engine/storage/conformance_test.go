package storage_test

import (
	"testing"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/engine/storage/s3test"
	"github.com/jagad/jagad/engine/storage/storagetest"
)

func mustOpen(t testing.TB, cfg storage.Config) storage.Store {
	t.Helper()
	s, err := storage.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformanceLocal(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Store {
		return mustOpen(t, storage.Config{Type: storage.TypeLocal, Path: t.TempDir()})
	})
}

func TestConformanceFakeS3(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Store {
		return mustOpen(t, s3test.StartFake(t))
	})
}

func TestConformanceFakeS3Prefixed(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Store {
		cfg := s3test.StartFake(t)
		cfg.Prefix = "/team a/jagad/"
		return mustOpen(t, cfg)
	})
}

func TestConformanceVersity(t *testing.T) {
	storagetest.RunConformance(t, func(t *testing.T) storage.Store {
		return mustOpen(t, s3test.StartVersity(t))
	})
}
