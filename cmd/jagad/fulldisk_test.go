package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/state/logbuf"

	"github.com/jagad/jagad/state/tmpfstest"
)

// TestDaemonFullDisk runs the jagad binary on a data dir in a small tmpfs,
// fills the tmpfs under it and checks that writes answer 507 while reads
// answer 200 and the process lives, and that writes work again once space is
// freed. Before the free-space guard the daemon died of SIGBUS (Badger writes
// its WAL through an mmap'ed sparse file) on the first write that needed a
// new page.
func TestDaemonFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmpfs := tmpfstest.Mount(t, "64m")
	bin := filepath.Join(t.TempDir(), "jagad")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const pass = "full-disk-Admin-Pass-1"
	env := map[string]string{
		"JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_DATA_DIR": filepath.Join(tmpfs, "data"),
		"JAGAD_ADMIN_PASS": pass, "JAGAD_LOG_FORMAT": "json", "JAGAD_MIN_FREE_SPACE": "8MiB",
	}
	d := startChildDaemon(t, bin, env)
	var login struct{ Token string }
	if code, body := d.do("POST", "/api/auth/login", fmt.Sprintf(`{"username":"admin","password":%q}`, pass)); code != http.StatusOK {
		t.Fatalf("login = %d %s", code, body)
	} else if err := json.Unmarshal(body, &login); err != nil || login.Token == "" {
		t.Fatalf("login body %s: %v", body, err)
	}
	d.token = login.Token
	put := func(i int) (int, []byte) {
		return d.do("PUT", "/api/settings", fmt.Sprintf(`{"concurrent_backups":"%d"}`, i%8+1))
	}
	if code, body := put(0); code != http.StatusOK {
		t.Fatalf("write with space = %d %s", code, body)
	}

	fill := filepath.Join(tmpfs, "fill")
	tmpfstest.Fill(t, fill)
	// Enough writes to need new pages of the WAL: each one was a chance to
	// die of SIGBUS.
	for i := range 100 {
		code, body := put(i)
		if code != http.StatusInsufficientStorage || !strings.Contains(string(body), "below the floor") {
			t.Fatalf("write %d on a full disk = %d %s, want 507 naming the floor\n%s", i, code, body, d.out())
		}
	}
	if code, body := d.do("GET", "/api/settings", ""); code != http.StatusOK {
		t.Fatalf("read on a full disk = %d %s", code, body)
	}
	if code, body := d.do("GET", "/metrics", ""); code != http.StatusOK ||
		!strings.Contains(string(body), "\njagad_store_writes_refused 1\n") ||
		!strings.Contains(string(body), "\njagad_store_writes_refused_total 100\n") {
		t.Errorf("metrics on a full disk = %d:\n%s", code, grepLines(body, "jagad_store_"))
	}
	if !d.alive() {
		t.Fatalf("daemon died on a full disk:\n%s", d.out())
	}

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if code, body := put(1); code != http.StatusOK {
		t.Fatalf("write once space was freed = %d %s", code, body)
	}
	if code, body := d.do("GET", "/metrics", ""); !strings.Contains(string(body), "\njagad_store_writes_refused 0\n") {
		t.Errorf("metrics after recovery = %d:\n%s", code, grepLines(body, "jagad_store_"))
	}
	// The child's log reaches us through a pipe: wait for the line rather
	// than read once (a loaded machine delays the copy).
	for _, want := range []string{"refusing writes until space is freed", "has free space again: accepting writes"} {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(d.out(), want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if logs := d.out(); !strings.Contains(logs, want) {
			t.Errorf("no log line %q:\n%s", want, logs)
		}
	}

	// Stopped on a full disk: Badger's closing flush of the memtable would
	// be SIGBUS; the store is left for its WAL to be replayed instead.
	if code, body := put(4); code != http.StatusOK {
		t.Fatalf("write = %d %s", code, body)
	}
	tmpfstest.Fill(t, fill)
	d.stop()
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	d = startChildDaemon(t, bin, env)
	d.token = login.Token
	if code, body := d.do("GET", "/api/settings", ""); code != http.StatusOK || !strings.Contains(string(body), `"concurrent_backups":"5"`) {
		t.Errorf("after a stop on a full disk and a restart, settings = %d %s, want the last write (5)", code, body)
	}
}

// childDaemon is the jagad binary running `serve`.
type childDaemon struct {
	t     *testing.T
	cmd   *exec.Cmd
	base  string
	token string
	log   logbuf.Buffer // stdout and stderr
	exit  chan error
}

func startChildDaemon(t *testing.T, bin string, env map[string]string) *childDaemon {
	t.Helper()
	d := &childDaemon{t: t, cmd: exec.Command(bin, "serve"), exit: make(chan error, 1)}
	d.cmd.Env = os.Environ()
	for k, v := range env {
		d.cmd.Env = append(d.cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listen := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.log.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "jagad ready" {
				listen <- line.Listen
			}
		}
	}()
	go func() { d.exit <- d.cmd.Wait(); pw.Close() }()
	t.Cleanup(d.stop)
	select {
	case a := <-listen:
		d.base = "http://" + a
	case err := <-d.exit:
		d.exit <- err
		t.Fatalf("jagad exited at start: %v\n%s", err, d.out())
	case <-time.After(60 * time.Second):
		t.Fatalf("jagad not ready after 60 s\n%s", d.out())
	}
	return d
}

func (d *childDaemon) out() string { return d.log.String() }

// alive reports whether the process has not exited.
func (d *childDaemon) alive() bool {
	select {
	case err := <-d.exit:
		d.exit <- err
		return false
	default:
		return d.cmd.Process.Signal(syscall.Signal(0)) == nil
	}
}

// stop sends SIGTERM and expects a clean exit.
func (d *childDaemon) stop() {
	if d.cmd.ProcessState != nil || !d.alive() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exit:
		d.exit <- err
		if err != nil {
			d.t.Errorf("jagad exited with %v\n%s", err, d.out())
		}
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill()
		d.t.Errorf("jagad did not stop within 60 s")
	}
}

// do sends a request with the session token; a transport error (the daemon
// died) fails the test with its output.
func (d *childDaemon) do(method, path, body string) (int, []byte) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		time.Sleep(200 * time.Millisecond) // let the dying daemon's output arrive
		d.t.Fatalf("%s %s: %v (alive: %v)\n%s", method, path, err, d.alive(), d.out())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func grepLines(b []byte, substr string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
