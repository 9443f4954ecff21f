package crypt

import (
	"runtime"
	"testing"
)

// TestPassphraseDerivationReturnsItsMemory: after sealing with the real
// Argon2id parameters (64 MiB), the heap memory the process keeps from the
// OS (HeapSys − HeapReleased, what RSS sees) is far below those 64 MiB: the
// daemon's peak RSS otherwise grew one Argon2 block per backup
// (engine/bench/PERF-NOTES.md).
func TestPassphraseDerivationReturnsItsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id with 64 MiB is slow")
	}
	kr, err := NewKeyring("pp", map[string]string{"pp": "a long enough passphrase"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if defaultArgon2Params().memoryKiB < 64*1024 {
		t.Fatalf("default Argon2 memory %d KiB: this test needs a block above its 32 MiB bound", defaultArgon2Params().memoryKiB)
	}
	seal(t, kr, []byte("hello"))
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if kept := m.HeapSys - m.HeapReleased; kept > 32<<20 {
		t.Fatalf("heap kept from the OS after one derivation: %d MiB (in use %d MiB), want < 32 MiB", kept>>20, m.HeapInuse>>20)
	}
}
