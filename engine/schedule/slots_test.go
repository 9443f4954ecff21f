package schedule

import (
	"testing"
	"time"
)

func TestSlotBookClaim(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	b := newSlotBook()
	t0 := utc("2025-06-01T00:00:00Z")                   // 02:00 CEST
	b.register("s", mustSpec(t, "30 2 * * *", loc), t0) // slots at 00:30Z

	if _, _, ok := b.claim("s", t0.Add(10*time.Minute)); ok {
		t.Fatal("a tick before the slot was claimed")
	}
	slot, missed, ok := b.claim("s", t0.Add(30*time.Minute))
	if !ok || !slot.Equal(utc("2025-06-01T00:30:00Z")) || missed != 0 {
		t.Fatalf("claim at the slot: ok=%v slot=%s missed=%d", ok, slot, missed)
	}
	if _, _, ok := b.claim("s", t0.Add(30*time.Minute)); ok {
		t.Fatal("the same slot was claimed twice")
	}
	// The clock goes back an hour: the 02:30 slot already ran today.
	if _, _, ok := b.claim("s", t0.Add(35*time.Minute-time.Hour)); ok {
		t.Fatal("a tick after a backward jump was claimed")
	}
	// Registered again after the jump (a re-enable): it plans tomorrow.
	b.register("s", mustSpec(t, "30 2 * * *", loc), t0.Add(-time.Hour))
	if got := b.nextRun("s", t0.Add(-time.Hour)); !got.Equal(utc("2025-06-02T00:30:00Z")) {
		t.Fatalf("next after re-registration = %s, want tomorrow 00:30Z", got)
	}
	// A jump forward over three slots runs once and reports the others.
	late := utc("2025-06-04T06:00:00Z")
	slot, missed, ok = b.claim("s", late)
	if !ok || !slot.Equal(utc("2025-06-02T00:30:00Z")) || missed != 2 {
		t.Fatalf("catch-up claim: ok=%v slot=%s missed=%d", ok, slot, missed)
	}
	if _, _, ok := b.claim("s", late.Add(time.Minute)); ok {
		t.Fatal("a second catch-up was claimed")
	}
	if got := b.nextRun("s", late); !got.Equal(utc("2025-06-05T00:30:00Z")) {
		t.Fatalf("next after catch-up = %s", got)
	}
	b.unregister("s")
	if _, _, ok := b.claim("s", utc("2025-06-05T00:30:00Z")); ok {
		t.Fatal("an unregistered schedule was claimed")
	}
}

// TestSlotBookVersion: every change that can alter nextRun at the same
// instant (register, a claimed slot, unregister, forget) moves the version;
// reads and refused claims do not.
func TestSlotBookVersion(t *testing.T) {
	b := newSlotBook()
	t0 := utc("2025-06-01T00:00:00Z")
	step := func(what string, moves bool, fn func()) {
		t.Helper()
		v := b.version.Load()
		fn()
		if got := b.version.Load() != v; got != moves {
			t.Errorf("%s: version moved = %v, want %v", what, got, moves)
		}
	}
	step("register", true, func() { b.register("s", mustSpec(t, "30 0 * * *", time.UTC), t0) })
	step("nextRun", false, func() { b.nextRun("s", t0) })
	step("early claim", false, func() { b.claim("s", t0.Add(10*time.Minute)) })
	step("claim", true, func() {
		if _, _, ok := b.claim("s", t0.Add(30*time.Minute)); !ok {
			t.Fatal("the slot was not claimed")
		}
	})
	step("unregister", true, func() { b.unregister("s") })
	step("forget", true, func() { b.forgetExcept(map[string]bool{}) })
	step("forget nothing", false, func() { b.forgetExcept(map[string]bool{}) })
}
