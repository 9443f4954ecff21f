package clustere2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/api/client"
	"github.com/jagad/jagad/state/logbuf"
)

// adminPass is every daemon's first admin password.
const adminPass = "cluster-e2e-Admin-Pass-30"

// daemon is one `jagad serve` process. Its output (JSON logs) is kept and
// printed when the test fails.
type daemon struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	base string
	api  *client.Client // the CLI's client, logged in as the admin
	log  logbuf.Buffer
	exit chan error // the exit status, once
}

// startDaemon starts jagadBin with env added to this process's, waits for
// "jagad ready" and logs in as the admin.
func startDaemon(t *testing.T, name string, env map[string]string) *daemon {
	t.Helper()
	d := &daemon{t: t, name: name, cmd: exec.Command(jagadBin, "serve"), exit: make(chan error, 1)}
	d.cmd.Env = os.Environ()
	for k, v := range env {
		d.cmd.Env = append(d.cmd.Env, k+"="+v)
	}
	d.cmd.Env = append(d.cmd.Env, "JAGAD_LISTEN=127.0.0.1:0", "JAGAD_LOG_FORMAT=json", "JAGAD_ADMIN_PASS="+adminPass,
		"JAGAD_CLUSTER_MEMBER="+name)
	pr, pw := io.Pipe()
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	listen := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			d.log.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "jagad ready" {
				listen <- line.Listen
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { d.exit <- d.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, d.log.String())
		}
	})
	select {
	case a := <-listen:
		d.base = "http://" + a
	case err := <-d.exit:
		d.exit <- err
		t.Fatalf("%s exited at start: %v", name, err)
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s not ready after 2 minutes", name)
	}
	d.api = client.New(d.base, "", "", "")
	if _, err := d.api.Login(d.ctx(), "admin", adminPass); err != nil {
		t.Fatalf("login to %s: %v", name, err)
	}
	return d
}

// exited reports whether the process has ended.
func (d *daemon) exited() bool {
	select {
	case err := <-d.exit:
		d.exit <- err
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to end.
func (d *daemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatalf("kill -9 %s: %v", d.name, err)
	}
	err := <-d.exit
	d.exit <- err
}

// stop sends SIGTERM and expects a clean exit within a minute.
func (d *daemon) stop() {
	if d.exited() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exit:
		d.exit <- err
		if err != nil {
			d.t.Errorf("%s exited with %v", d.name, err)
		}
	case <-time.After(time.Minute):
		_ = d.cmd.Process.Kill()
		d.t.Errorf("%s did not stop within a minute of SIGTERM", d.name)
	}
}

// ctx is the context of the daemon's API calls, done when the test ends.
func (d *daemon) ctx() context.Context { return d.t.Context() }

// backup is a backup as GET /api/backups lists it.
type backup struct{ client.Backup }

// learned reports whether the record came from another member's manifest.
func (b backup) learned() bool { return strings.HasPrefix(b.LogOutput, "CLUSTER: record learned") }

// backups lists every backup the daemon knows, page by page.
func (d *daemon) backups() []backup {
	d.t.Helper()
	var all []backup
	for offset := 0; ; offset += 100 {
		page, _, err := d.api.Backups(d.ctx(), client.BackupQuery{Limit: 100, Offset: offset})
		if err != nil {
			d.t.Fatalf("GET /api/backups on %s: %v (exited: %v)", d.name, err, d.exited())
		}
		for _, b := range page {
			all = append(all, backup{b})
		}
		if len(page) < 100 {
			return all
		}
	}
}

// metric is the value of one series line of the daemon's /metrics ("" if absent).
func (d *daemon) metric(series string) string {
	d.t.Helper()
	resp, err := http.Get(d.base + "/metrics")
	if err != nil {
		d.t.Fatalf("GET /metrics on %s: %v (exited: %v)", d.name, err, d.exited())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}
