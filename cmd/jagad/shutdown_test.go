package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shutdownChildEnv makes the test binary run as a jagad daemon (see
// TestMain) with the hooks of runShutdownChild.
const shutdownChildEnv = "JAGAD_TEST_SHUTDOWN_CHILD"

// slowHeader asks the child daemon to keep a request busy reading the store
// for a second before the API handles it: the shape of a slow list handler
// under load, so that requests are still running when the HTTP shutdown
// gives up on them.
const slowHeader = "X-Jagad-Test-Slow"

// runShutdownChild runs "serve" in this process with a 200 ms HTTP shutdown
// timeout and slow requests; it is the child of TestShutdownUnderLoad.
func runShutdownChild() int {
	hooks := serveHooks{httpShutdown: 200 * time.Millisecond, handler: slowRequests}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	return runServeHooks(args, os.Stdout, os.Stderr, os.LookupEnv, hooks)
}

// slowRequests reads the store every 5 ms for a second before a request
// marked with slowHeader reaches the API, and gives up when the request's
// context ends.
func slowRequests(d *daemon, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(slowHeader) != "" {
			until := time.Now().Add(time.Second)
			for time.Now().Before(until) {
				select {
				case <-r.Context().Done():
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				case <-time.After(5 * time.Millisecond):
				}
				if err := d.store.Ping(); err != nil {
					d.log.Error("slow request: store", "err", err)
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// TestShutdownUnderLoad sends SIGTERM to a daemon answering ~200 req/s of
// slow GETs and POSTs: the daemon must exit 0 after "jagad stopped", with no
// request run against a closed store and no Badger assert, and every
// connection it acknowledged must be there after a restart.
func TestShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon twice under load")
	}
	const pass = "shutdown-Admin-Pass-1"
	env := map[string]string{
		shutdownChildEnv: "1",
		"JAGAD_LISTEN":   "127.0.0.1:0", "JAGAD_DATA_DIR": filepath.Join(t.TempDir(), "data"),
		"JAGAD_ADMIN_PASS": pass, "JAGAD_LOG_FORMAT": "json",
	}
	login := func(d *childDaemon) {
		t.Helper()
		var l struct{ Token string }
		code, body := d.do("POST", "/api/auth/login", fmt.Sprintf(`{"username":"admin","password":%q}`, pass))
		if code != http.StatusOK || json.Unmarshal(body, &l) != nil || l.Token == "" {
			t.Fatalf("login = %d %s", code, body)
		}
		d.token = l.Token
	}
	d := startChildDaemon(t, os.Args[0], env)
	login(d)

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var (
		mu       sync.Mutex
		acked    []string // IDs of connections created with a 2xx
		statuses = map[int]int{}
		wg       sync.WaitGroup
	)
	send := func(i int) {
		defer wg.Done()
		method, path, body := "GET", "/api/connections", ""
		if i%2 == 1 {
			method, path = "POST", "/api/connections"
			body = fmt.Sprintf(`{"name":"load-%d","db_type":"postgresql","host":"db.invalid","port":5432,"username":"u","password":"p"}`, i)
		}
		req, _ := http.NewRequest(method, d.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+d.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(slowHeader, "1")
		resp, err := client.Do(req)
		if err != nil {
			return // dropped at shutdown: not acknowledged
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		mu.Lock()
		defer mu.Unlock()
		statuses[resp.StatusCode]++
		if method == "POST" && resp.StatusCode == http.StatusCreated {
			var c struct{ ID string }
			if json.Unmarshal(b, &c) != nil || c.ID == "" {
				t.Errorf("created connection without an ID: %s", b)
				return
			}
			acked = append(acked, c.ID)
		}
	}
	// Open loop: 4 senders, 50 req/s each, for 2.5 s; SIGTERM after 1.5 s,
	// when about 200 requests are running.
	start := time.Now()
	term := time.AfterFunc(1500*time.Millisecond, func() { _ = d.cmd.Process.Signal(syscall.SIGTERM) })
	defer term.Stop()
	var senders sync.WaitGroup
	for g := range 4 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := g; time.Since(start) < 2500*time.Millisecond; i += 4 {
				<-tick.C
				wg.Add(1)
				go send(i)
			}
		}()
	}
	senders.Wait()
	wg.Wait()

	var exitErr error
	select {
	case exitErr = <-d.exit:
		d.exit <- exitErr
	case <-time.After(60 * time.Second):
		t.Fatalf("jagad did not exit within 60 s of SIGTERM\n%s", d.out())
	}
	time.Sleep(100 * time.Millisecond) // the last lines of output
	out := d.out()
	t.Logf("answers by status: %v; %d connections acknowledged", statuses, len(acked))
	if exitErr != nil {
		t.Errorf("jagad exited with %v, want 0", exitErr)
	}
	if !strings.Contains(out, `"msg":"jagad stopped"`) {
		t.Errorf(`no "jagad stopped" in the log`)
	}
	for _, bad := range []string{"Assert failed", "panic", "DB Closed", "state store is closed", "slow request: store"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q in the output:\n%s", bad, grepLines([]byte(out), bad))
		}
	}
	for code, n := range statuses {
		// 503: a request cancelled at shutdown (slowRequests).
		if code >= 500 && code != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d", n, code)
		}
	}
	if len(acked) == 0 {
		t.Errorf("no connection was acknowledged before the shutdown")
	}
	if t.Failed() {
		t.Logf("log of the first run:\n%s", tail(out, 60))
	}

	// The store reopens with every acknowledged write.
	d2 := startChildDaemon(t, os.Args[0], env)
	login(d2)
	for _, id := range acked {
		if code, body := d2.do("GET", "/api/connections/"+id, ""); code != http.StatusOK {
			t.Errorf("acknowledged connection %s after restart: %d %s", id, code, body)
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := bytes.Split([]byte(strings.TrimRight(s, "\n")), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
