package s3test

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state/logbuf"
)

// VersityProcess is a versitygw server a test can kill (SIGKILL, as a
// crash or an OOM kill does) and start again on the same port and data
// directory, as a restarted server: its buckets and stored objects are
// still there, what it was receiving is not.
type VersityProcess struct {
	tb        testing.TB
	bin, addr string
	dir       string
	out       logbuf.Buffer
	cmd       *exec.Cmd
	exited    chan struct{}
}

// StartVersityProcess is StartVersity for a server the test kills and
// restarts. It returns the process and a path-style Config for Bucket; the
// server stops when the test ends. A missing binary fails the test under
// CI=true and skips it otherwise.
func StartVersityProcess(tb testing.TB) (*VersityProcess, storage.Config) {
	tb.Helper()
	bin, err := VersityBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("versitygw: %v", err)
		}
		tb.Skipf("versitygw: %v", err)
	}
	v := &VersityProcess{tb: tb, bin: bin, addr: freeAddr(tb), dir: tb.TempDir()}
	tb.Cleanup(func() {
		if v.Running() {
			stop(v.cmd, v.exited)
		}
	})
	v.start()
	cfg := storage.Config{
		Type:      storage.TypeS3Compat,
		Endpoint:  "http://" + v.addr,
		Region:    "us-east-1",
		Bucket:    Bucket,
		AccessKey: VersityAccessKey,
		SecretKey: VersitySecretKey,
		PathStyle: true,
	}
	if err := createBucket(cfg); err != nil {
		tb.Fatalf("versitygw: create bucket: %v\n%s", err, v.out.String())
	}
	return v, cfg
}

// start runs the server on v's port and directory and waits until it
// answers HTTP.
func (v *VersityProcess) start() {
	v.tb.Helper()
	cmd := exec.Command(v.bin, "--port", v.addr, "posix", v.dir)
	cmd.Env = append(os.Environ(), // the secret goes through the environment, never argv
		"ROOT_ACCESS_KEY_ID="+VersityAccessKey, "ROOT_SECRET_ACCESS_KEY="+VersitySecretKey)
	cmd.Stdout, cmd.Stderr = &v.out, &v.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		v.tb.Fatalf("versitygw: start: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	v.cmd, v.exited = cmd, exited
	if err := waitReady(v.addr, exited, 20*time.Second); err != nil {
		v.tb.Fatalf("versitygw: %v\n%s", err, v.out.String())
	}
}

// Running reports whether the server process is alive.
func (v *VersityProcess) Running() bool {
	select {
	case <-v.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL to the server's process group and waits until it
// exited: connections in flight are reset, nothing is flushed or aborted.
func (v *VersityProcess) Kill() {
	v.tb.Helper()
	if err := syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		v.tb.Fatalf("versitygw: kill: %v", err)
	}
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		v.tb.Fatal("versitygw: still running 10 s after SIGKILL")
	}
}

// Restart starts the killed server again on the same port and data
// directory and waits until it answers.
func (v *VersityProcess) Restart() {
	v.tb.Helper()
	if v.Running() {
		v.tb.Fatal("versitygw: restart of a running server")
	}
	v.start()
}

// Log is what the server printed so far.
func (v *VersityProcess) Log() string { return v.out.String() }
