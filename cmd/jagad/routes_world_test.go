package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbtest"
)

// routeWorld is a daemon built by serve (store, reconciler, engine, API)
// over a jagad.yaml with a local provider and the test PostgreSQL, plus what
// the walk over the routes learns on the way (ids by name).
type routeWorld struct {
	od      *obsDaemon
	base    string
	token   string
	adminPW string
	pg      *dbtest.Server
	src     string // a database with rows, declared in jagad.yaml
	cfgPath string
	env     map[string]string
	kr      *crypt.Keyring
	hook    *recordingHook
	hookSrv *httptest.Server
	dirs    map[string]string // provider name → its directory
	ids     map[string]string
}

// routesConfig is the daemon's jagad.yaml: %[1]s backups dir, %[2]s host,
// %[3]d port, %[4]s user, %[5]s database; spares are the extra lines of
// notifications (three spares, to prune in the reload case).
const routesConfig = `version: 1
settings:
  timezone: UTC
  compression: zstd
storage:
  - name: local
    provider_type: local
    path: %[1]s
connections:
  - name: pg
    db_type: postgresql
    host: %[2]s
    port: %[3]d
    username: %[4]s
    password: ${ROUTES_PG_PASSWORD}
    ssl_mode: disable
    databases: [%[5]s]
notifications:
%[6]s
schedules:
  - name: nightly
    connection: pg
    database: %[5]s
    cron_expr: "0 3 * * *"
`

const routesSpares = `  - name: spare-1
    type: webhook
    config: {url: "${ROUTES_HOOK_URL}/spare"}
  - name: spare-2
    type: webhook
    config: {url: "${ROUTES_HOOK_URL}/spare"}
  - name: spare-3
    type: webhook
    config: {url: "${ROUTES_HOOK_URL}/spare"}
`

const routesNoNotifications = "  []\n"

func newRouteWorld(t *testing.T) *routeWorld {
	t.Helper()
	pg := dbtest.Postgres(t)
	src := pg.CreateDB(t, "routes_src")
	pg.Exec(t, src, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 250) g;
		CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('a'), ('b'), (NULL);`)
	key, err := crypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := crypt.NewKeyring("default", map[string]string{"default": key}, "")
	if err != nil {
		t.Fatal(err)
	}
	hook := &recordingHook{}
	w := &routeWorld{pg: pg, src: src, kr: kr, hook: hook, hookSrv: httptest.NewServer(hook), adminPW: "routes-admin-pass-1",
		dirs: map[string]string{}, ids: map[string]string{}}
	t.Cleanup(w.hookSrv.Close)
	dir := t.TempDir()
	w.dirs["local"] = filepath.Join(dir, "backups")
	w.cfgPath = filepath.Join(dir, "jagad.yaml")
	writeFile(t, w.cfgPath, w.config(routesSpares, ""))
	w.env = map[string]string{
		"JAGAD_LISTEN": "127.0.0.1:0", "JAGAD_DATA_DIR": filepath.Join(dir, "data"), "JAGAD_CONFIG": w.cfgPath,
		"JAGAD_ADMIN_PASS": w.adminPW, "JAGAD_ENCRYPTION_KEY": key, "JAGAD_LOG_FORMAT": "json",
		"ROUTES_PG_PASSWORD": pg.Password, "ROUTES_HOOK_URL": w.hookSrv.URL,
	}
	w.od = startObsDaemon(t, w.env)
	w.base = w.od.base
	return w
}

// config is jagad.yaml with the given notifications; cron replaces the
// schedule's when not empty.
func (w *routeWorld) config(notifications, cron string) string {
	s := fmt.Sprintf(routesConfig, w.dirs["local"], w.pg.Host, w.pg.Port, w.pg.User, w.src, strings.TrimSuffix(notifications, "\n"))
	if cron != "" {
		s = strings.Replace(s, `cron_expr: "0 3 * * *"`, `cron_expr: "`+cron+`"`, 1)
	}
	return s
}

// send sends a request with the world's session (bearer "" for none) and
// returns the status, headers and body. A string body is sent as YAML.
func (w *routeWorld) send(t *testing.T, method, path, bearer string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/yaml"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, out
}

// call sends an authenticated request, wants status want and decodes a
// JSON answer into out (when not nil).
func (w *routeWorld) call(t *testing.T, method, path string, body any, want int, out any) []byte {
	t.Helper()
	code, _, b := w.send(t, method, path, w.token, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		// Decode into a zero value: json.Unmarshal merges into a map it is
		// given, which would keep keys the new answer omits.
		reflect.ValueOf(out).Elem().SetZero()
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// refused sends an authenticated request and wants status want with an
// error that contains msg.
func (w *routeWorld) refused(t *testing.T, method, path string, body any, want int, msg string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	w.call(t, method, path, body, want, &e)
	if !strings.Contains(e.Error, msg) {
		t.Errorf("%s %s: error %q, want it to contain %q", method, path, e.Error, msg)
	}
}

func (w *routeWorld) login(t *testing.T, pass string) string {
	t.Helper()
	var r struct{ Token, User string }
	code, _, b := w.send(t, "POST", "/api/auth/login", "", map[string]string{"username": "admin", "password": pass})
	if code != http.StatusOK || json.Unmarshal(b, &r) != nil || r.Token == "" || r.User != "admin" {
		t.Fatalf("login: %d %s", code, b)
	}
	return r.Token
}

// byName finds the object named name in a JSON list and returns it.
func byName(t *testing.T, list []map[string]any, key, name string) map[string]any {
	t.Helper()
	for _, o := range list {
		if o[key] == name {
			return o
		}
	}
	t.Fatalf("no %s %q in %v", key, name, list)
	return nil
}

// waitFor polls GET path until cond holds on the decoded object.
func (w *routeWorld) waitFor(t *testing.T, path string, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var o map[string]any
		w.call(t, "GET", path, nil, http.StatusOK, &o)
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %s not reached in 90 s: %v\nlogs:\n%s", path, what, o, w.od.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nextRunAt is the next_run_at of a schedule, or zero.
func nextRunAt(o map[string]any) time.Time {
	s, _ := o["next_run_at"].(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// atClock reports whether a schedule's next run is the next hh:mm UTC.
func atClock(hh, mm int) func(map[string]any) bool {
	return func(o map[string]any) bool {
		n := nextRunAt(o)
		return n.Hour() == hh && n.Minute() == mm && n.After(time.Now()) && time.Until(n) <= 24*time.Hour
	}
}

func num(o map[string]any, k string) int64 {
	f, _ := o[k].(float64)
	return int64(f)
}

func str(o map[string]any, k string) string {
	s, _ := o[k].(string)
	return s
}

// recordingHook is a webhook receiver that answers 204 and keeps the
// requests it got.
type recordingHook struct {
	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	path, token string
	body        []byte
}

func (h *recordingHook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.reqs = append(h.reqs, hookRequest{path: r.URL.Path, token: r.Header.Get("X-Token"), body: b})
	h.mu.Unlock()
	rw.WriteHeader(http.StatusNoContent)
}

func (h *recordingHook) to(path string) []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookRequest
	for _, r := range h.reqs {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// apiRoutes reads the routes api/routes.go registers ("METHOD /path"),
// from the calls h("METHOD", "/path", ...) and rt.METHOD("/path", ...).
func apiRoutes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "api", "routes.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	out := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		switch fn := call.Fun.(type) {
		case *ast.Ident: // h("GET", "/api/x", ...)
			m, ok1 := lit(call.Args[0])
			p, ok2 := lit(call.Args[1])
			if fn.Name == "h" && ok1 && ok2 {
				out[m+" "+p] = true
			}
		case *ast.SelectorExpr: // rt.GET("/livez", ...)
			if x, ok := fn.X.(*ast.Ident); ok && x.Name == "rt" && fn.Sel.Name == strings.ToUpper(fn.Sel.Name) {
				if p, ok := lit(call.Args[0]); ok {
					out[fn.Sel.Name+" "+p] = true
				}
			}
		}
		return true
	})
	if len(out) < 40 {
		t.Fatalf("read only %d routes from api/routes.go: %v", len(out), out)
	}
	return out
}
