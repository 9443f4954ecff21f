package state

import (
	"regexp"
	"testing"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for k, prefix := range idPrefix {
		re := regexp.MustCompile("^" + prefix + "[0-9a-f]{20}$")
		for range 200 {
			id := NewID(k)
			if !re.MatchString(id) {
				t.Fatalf("NewID(%s) = %q", k, id)
			}
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
}

func TestDerivedID(t *testing.T) {
	// Expected values computed independently: printf 'connection\0main' | sha256sum
	tests := []struct {
		kind Kind
		name string
		want string
	}{
		{KindConnection, "main", "conn_4c24845e1f48bfd7c44c"},
		{KindSchedule, "nightly", "sch_1dd4650af9ea2c332ec0"},
	}
	for _, tt := range tests {
		if got := DerivedID(tt.kind, tt.name); got != tt.want {
			t.Errorf("DerivedID(%s, %s) = %q, want %q", tt.kind, tt.name, got, tt.want)
		}
	}
	if DerivedID(KindConnection, "main") == DerivedID(KindConnection, "main2") {
		t.Error("DerivedID ignores the name")
	}
}

func TestIDPanicsOnUnknownKind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewID(settings) did not panic")
		}
	}()
	NewID(KindSettings)
}
