package fault

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCodeOf(t *testing.T) {
	cause := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want Code
		msg  string
	}{
		{"nil", nil, "", ""},
		{"plain", cause, CodeInternal, ""},
		{"invalid", Invalid("bad"), CodeInvalid, "bad"},
		{"wrapped", fmt.Errorf("engine: %w", NotFound("backup not found")), CodeNotFound, "backup not found"},
		{"wrap keeps cause", Wrap(CodeUnavailable, "storage down", cause), CodeUnavailable, "storage down"},
		{"throttle", TooManyRequests("slow down", time.Minute), CodeTooManyRequests, "slow down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf = %q, want %q", got, tt.want)
			}
			if e, ok := As(tt.err); ok && e.Message != tt.msg {
				t.Errorf("message %q, want %q", e.Message, tt.msg)
			}
		})
	}
	if !errors.Is(Wrap(CodeInternal, "x", cause), cause) {
		t.Error("Wrap lost its cause")
	}
	if e, _ := As(TooManyRequests("x", time.Minute)); e.RetryAfter != time.Minute {
		t.Error("RetryAfter lost")
	}
}
