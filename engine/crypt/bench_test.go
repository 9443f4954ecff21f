package crypt

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkWriter measures sealing throughput in 1 MiB writes.
func BenchmarkWriter(b *testing.B) {
	kr := newTestKeyring(b, "k1", map[string]string{"k1": mustKey(b)}, "")
	block := pseudo(1<<20, 1)
	w, err := NewWriter(io.Discard, kr)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReader measures opening a 16 MiB object, header included.
func BenchmarkReader(b *testing.B) {
	kr := newTestKeyring(b, "k1", map[string]string{"k1": mustKey(b)}, "")
	plain := pseudo(16<<20, 2)
	obj := seal(b, kr, plain)
	buf := make([]byte, 256<<10)
	src := bytes.NewReader(obj)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(obj)
		r, err := NewReader(src, kr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
