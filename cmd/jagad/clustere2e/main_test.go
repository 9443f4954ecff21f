// Package clustere2e runs the jagad binary as a group of real processes on
// a real etcd: the end-to-end test of issue 18 (three daemons, 30 schedules
// every minute for five minutes, one member killed with SIGKILL mid-run);
// and in the Kubernetes Lease mode on k8sleasetest's Lease API
// (TestLeaseFailover: the leader killed, the standby taking over).
// It is a package of its own so that `go test ./...` runs its minutes of
// waiting for cron slots beside the other packages, not after cmd/jagad's.
package clustere2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// jagadBin is the jagad binary TestMain builds ("" under -short).
var jagadBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "jagad-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustere2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	jagadBin = filepath.Join(dir, "jagad")
	// Without -race: `go vet ./...` (make test runs it first) has compiled
	// every package of the binary so, and the build only links. Race-built
	// daemons would be built while `go test -race` compiles the same
	// packages, and would cost four times the memory for the minutes they run.
	build := exec.Command("go", "build", "-o", jagadBin, "github.com/jagad/jagad/cmd/jagad")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "clustere2e: build jagad: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
