package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runRemoteCLI runs jagad in process with env and returns exit code, stdout, stderr.
func runRemoteCLI(env map[string]string, stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, mapEnv(env))
	return code, out.String(), errb.String()
}

func TestTableIsAligned(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "ID", "SIZE", "CREATED")
	tb.row("bck_1", "1.2 GiB", "3h ago")
	tb.row("bck_22222", "", "just now")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", buf.String())
	}
	col := func(l, cell string) int { return strings.Index(l, cell) }
	if c := col(lines[0], "SIZE"); col(lines[1], "1.2 GiB") != c || col(lines[2], "-") != c {
		t.Errorf("SIZE column not aligned:\n%s", buf.String())
	}
	if c := col(lines[0], "CREATED"); col(lines[1], "3h ago") != c || col(lines[2], "just now") != c {
		t.Errorf("CREATED column not aligned:\n%s", buf.String())
	}
}

func TestAgesAndDurations(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, c := range []struct {
		t    *time.Time
		want string
	}{
		{nil, ""}, {at(-2 * time.Second), "just now"}, {at(-45 * time.Second), "45s ago"}, {at(-12 * time.Minute), "12m ago"},
		{at(-3 * time.Hour), "3h ago"}, {at(-50 * time.Hour), "2d ago"}, {at(5 * time.Minute), "in 5m"},
	} {
		if got := ago(c.t, now); got != c.want {
			t.Errorf("ago(%v) = %q, want %q", c.t, got, c.want)
		}
	}
	for ms, want := range map[int64]string{0: "", 850: "850ms", 12300: "12.3s", 128000: "2m08s"} {
		if got := duration(ms); got != want {
			t.Errorf("duration(%d) = %q, want %q", ms, got, want)
		}
	}
}

func TestTokenSecretAndHash(t *testing.T) {
	s1, h1, err := newTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _ := newTokenSecret()
	if s1 == s2 {
		t.Fatal("two secrets are equal")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s1, "jgd_"))
	if !strings.HasPrefix(s1, "jgd_") || err != nil || len(raw) != 32 {
		t.Errorf("secret %q: want jgd_ + unpadded base64url of 32 bytes (%v, %d bytes)", s1, err, len(raw))
	}
	sum := sha256.Sum256([]byte(s1))
	if h1 != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("hash %q is not sha256:hex(sha256(secret))", h1)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"720h": now.Add(720 * time.Hour), "90d": now.Add(90 * 24 * time.Hour),
		"2027-01-31": time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), "2026-06-01T10:00:00Z": time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := parseExpiry(in, now)
		if err != nil || got == nil || !got.Equal(want) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-5h", "2020-01-01", "0d"} {
		if _, err := parseExpiry(bad, now); err == nil {
			t.Errorf("parseExpiry(%q) accepted", bad)
		}
	}
}

// TestWriteVerified: the file appears only when size and checksum match.
func TestWriteVerified(t *testing.T) {
	dir := t.TempDir()
	data := []byte(strings.Repeat("backup bytes ", 1000))
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	for name, c := range map[string]struct {
		body []byte
		size int64
		sum  string
	}{
		"short":    {data[:100], int64(len(data)), good},
		"corrupt":  {append([]byte("X"), data[1:]...), int64(len(data)), good},
		"mismatch": {data, int64(len(data)), strings.Repeat("0", 64)},
	} {
		path := filepath.Join(dir, name)
		if _, _, err := writeVerified(path, bytes.NewReader(c.body), c.size, c.sum); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("failed writes left %v", entries)
	}
	path := filepath.Join(dir, "ok")
	if _, n, err := writeVerified(path, bytes.NewReader(data), int64(len(data)), good); err != nil || n != int64(len(data)) {
		t.Fatalf("good write: %d, %v", n, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Error("written bytes differ")
	}
}

// fakeTokens is the token API as the contract says: POST, GET, DELETE
// /api/tokens, with the secret shown by POST only.
type fakeTokens struct {
	mu     sync.Mutex
	tokens []map[string]any
	auth   []string
}

func (f *fakeTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") != "Bearer admin-session" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"unauthorized"}`))
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/api/tokens":
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		tok := map[string]any{"id": "tok_0123456789abcdef0123", "name": in["name"], "scope": in["scope"],
			"created_at": "2026-01-02T12:00:00Z", "expires_at": in["expires_at"], "managed_by": "api"}
		f.tokens = append(f.tokens, tok)
		out := map[string]any{"token": "jgd_" + strings.Repeat("A", 43)}
		for k, v := range tok {
			out[k] = v
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == "GET" && r.URL.Path == "/api/tokens":
		_ = json.NewEncoder(w).Encode(f.tokens)
	case r.Method == "DELETE" && r.URL.Path == "/api/tokens/tok_0123456789abcdef0123":
		f.tokens = nil
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not found"}`))
	}
}

// TestTokensAgainstTheContract runs the tokens commands in process against
// a server that follows the token API's contract.
func TestTokensAgainstTheContract(t *testing.T) {
	f := &fakeTokens{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	env := map[string]string{"JAGAD_URL": srv.URL, "JAGAD_TOKEN": "admin-session", "HOME": t.TempDir()}
	code, out, errOut := runRemoteCLI(env, "", "tokens", "create", "ci", "--scope", "operate", "--expires", "2099-01-01")
	if code != 0 || !strings.Contains(out, "jgd_AAAA") || !strings.Contains(out, `"ci"`) || !strings.Contains(out, "2099-01-01T00:00:00Z") {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	if f.tokens[0]["scope"] != "operate" || f.tokens[0]["expires_at"] != "2099-01-01T00:00:00Z" {
		t.Errorf("sent %v", f.tokens[0])
	}
	code, out, _ = runRemoteCLI(env, "", "tokens", "list")
	if code != 0 || !strings.Contains(out, "tok_0123456789abcdef0123") || !strings.Contains(out, "operate") || strings.Contains(out, "jgd_") {
		t.Errorf("list: %d %s", code, out)
	}
	code, out, _ = runRemoteCLI(env, "", "tokens", "list", "--json")
	if code != 0 || !json.Valid([]byte(out)) {
		t.Errorf("list --json: %d %s", code, out)
	}
	code, out, errOut = runRemoteCLI(env, "", "tokens", "revoke", "ci")
	if code != 0 || !strings.Contains(out, "Revoked") || len(f.tokens) != 0 {
		t.Errorf("revoke: %d %s %s", code, out, errOut)
	}
	code, _, errOut = runRemoteCLI(env, "", "tokens", "revoke", "ci")
	if code != exitFailure || !strings.Contains(errOut, "not found") {
		t.Errorf("revoke of a missing token: %d %s", code, errOut)
	}
	env["JAGAD_TOKEN"] = "wrong"
	code, _, errOut = runRemoteCLI(env, "", "tokens", "list")
	if code != exitFailure || !strings.Contains(errOut, "HTTP 401") {
		t.Errorf("wrong token: %d %s", code, errOut)
	}
	for _, a := range f.auth {
		if !strings.HasPrefix(a, "Bearer ") {
			t.Errorf("Authorization %q is not a bearer token", a)
		}
	}
	code, _, _ = runRemoteCLI(env, "", "tokens", "create", "x", "--scope", "root")
	if code != exitUsage {
		t.Errorf("bad scope: exit %d, want 2", code)
	}
}

// TestEmptyListsAndLookups covers what the golden files do not: every
// `list` of an empty daemon, its --json, and a name that is not there.
func TestEmptyListsAndLookups(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	defer srv.Close()
	env := map[string]string{"JAGAD_URL": srv.URL, "JAGAD_TOKEN": "t", "HOME": t.TempDir()}
	for _, kind := range []string{"schedules", "restores", "connections", "tokens", "backups"} {
		code, out, errOut := runRemoteCLI(env, "", kind, "list")
		if code != 0 || out != "No "+kind+".\n" {
			t.Errorf("%s list: %d %q %s", kind, code, out, errOut)
		}
		code, out, errOut = runRemoteCLI(env, "", kind, "list", "--json")
		if code != 0 || out != "[]\n" {
			t.Errorf("%s list --json: %d %q %s", kind, code, out, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"schedules", "show", "nightly"}, `schedule "nightly" not found (see jagad schedules list)`},
		{[]string{"schedules", "disable", "nightly"}, `schedule "nightly" not found (see jagad schedules list)`},
		{[]string{"connections", "test", "pg"}, `connection "pg" not found (see jagad connections list)`},
		{[]string{"tokens", "revoke", "ci"}, `token "ci" not found (see jagad tokens list)`},
		{[]string{"backups", "copy", "bck_1", "--to", "offsite"}, `storage provider "offsite" not found (see GET /api/storage-providers)`},
	} {
		code, out, errOut := runRemoteCLI(env, "", c.args...)
		if code != exitFailure || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q %q, want exit 1 and %q", c.args, code, out, errOut, c.want)
		}
	}
}
