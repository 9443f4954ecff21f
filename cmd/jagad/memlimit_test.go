package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	tests := []struct {
		name string
		env  map[string]string
		want int64
	}{
		{name: "default", env: nil, want: defaultMemoryLimit},
		{name: "GOMEMLIMIT wins", env: map[string]string{"GOMEMLIMIT": "off"}, want: math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			setMemoryLimit(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("memory limit = %d, want %d", got, tt.want)
			}
		})
	}
}
