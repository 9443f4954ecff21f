package storage_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage/s3test"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	cfg := s3test.StartVersity(t)
	st := mustOpen(t, cfg)
	b := data(t, 1, 64<<20)
	st.Put(context.Background(), "bench/x", bytes.NewReader(b))
	c0 := cpu()
	for range 8 {
		if _, err := st.Put(context.Background(), "bench/x", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("client CPU per 64 MiB Put: %v", (cpu()-c0)/8)
}
