// Package client is the command-line side of Jagad's REST API: `jagad plan`.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jagad/jagad/api"
)

// DefaultURL is the daemon address when $JAGAD_URL is unset.
const DefaultURL = "http://127.0.0.1:8080"

const maxPlanFile = 1 << 20

// Exit codes of RunPlan.
const (
	ExitNoChange = 0
	ExitError    = 1
	ExitChanges  = 2
)

// RunPlan is `jagad plan -f FILE`: it sends FILE ("-" is stdin) to the
// daemon at $JAGAD_URL (default http://127.0.0.1:8080) and prints the plan,
// one line per change. Auth: $JAGAD_TOKEN, or a login with $JAGAD_USER and
// $JAGAD_PASSWORD (that session is logged out afterwards). Exit 0: no
// change, 2: changes, 1: error.
func RunPlan(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "jagad.yaml", "the jagad.yaml to plan (- for stdin)")
	timeout := fs.Duration("timeout", 30*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "jagad plan: unexpected argument %q\n", fs.Arg(0))
		return ExitError
	}
	doc, err := readDoc(*file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "jagad plan: %v\n", err)
		return ExitError
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := newClient(env)
	plan, err := c.plan(ctx, doc)
	if err != nil {
		fmt.Fprintf(stderr, "jagad plan: %s\n", nameDiagnostics(err.Error(), displayName(*file)))
		return ExitError
	}
	printPlan(stdout, plan)
	if plan.Changes == 0 {
		return ExitNoChange
	}
	return ExitChanges
}

// postedName is the name the daemon gives a posted document in its
// diagnostics (reconcile.PostedName): "jagad.yaml:LINE:COL: message".
const postedName = "jagad.yaml"

// displayName is how `jagad plan` names the file it sent.
func displayName(file string) string {
	if file == "-" {
		return "<stdin>"
	}
	return file
}

// nameDiagnostics puts the user's file name in place of the daemon's name
// for the posted document at the start of each line of msg.
func nameDiagnostics(msg, name string) string {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, postedName+":")
		if ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			lines[i] = name + ":" + rest
		}
	}
	return strings.Join(lines, "\n")
}

func readDoc(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPlanFile+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(b) > maxPlanFile {
		return nil, fmt.Errorf("config file is larger than %d bytes", maxPlanFile)
	}
	return b, nil
}

var actionSigns = map[string]string{"create": "+", "update": "~", "prune": "-", "delete": "-", "adopt": "="}

func printPlan(w io.Writer, p api.PlanView) {
	for _, it := range p.Items {
		sign, ok := actionSigns[string(it.Action)]
		if !ok {
			continue // unchanged and unknown entries are not changes
		}
		line := fmt.Sprintf("%s %s %s %q", sign, it.Action, it.Kind, it.Name)
		if len(it.Fields) > 0 {
			line += " (fields: " + strings.Join(it.Fields, ", ") + ")"
		}
		if it.Cascade != "" {
			line += " (with " + it.Cascade + ")"
		}
		fmt.Fprintln(w, line)
	}
	if p.Held != "" {
		fmt.Fprintf(w, "! held: %s (apply with POST /api/config/reload?confirm_prune=true)\n", p.Held)
	}
	switch {
	case p.Summary != "":
		fmt.Fprintln(w, p.Summary)
	case p.Changes == 0:
		fmt.Fprintln(w, "No changes.")
	default:
		fmt.Fprintf(w, "%d change(s).\n", p.Changes)
	}
}

// client talks to a daemon.
type client struct {
	base       string
	token      string
	user, pass string
	http       *http.Client
}

func newClient(env func(string) (string, bool)) *client {
	get := func(k string) string {
		v, _ := env(k)
		return v
	}
	base := strings.TrimRight(get("JAGAD_URL"), "/")
	if base == "" {
		base = DefaultURL
	}
	return &client{base: base, token: get("JAGAD_TOKEN"), user: get("JAGAD_USER"),
		pass: get("JAGAD_PASSWORD"), http: &http.Client{}}
}

func (c *client) plan(ctx context.Context, doc []byte) (api.PlanView, error) {
	var p api.PlanView
	if c.token == "" {
		if c.user == "" || c.pass == "" {
			return p, errors.New("set JAGAD_TOKEN, or JAGAD_USER and JAGAD_PASSWORD")
		}
		if err := c.login(ctx); err != nil {
			return p, err
		}
		defer c.logout()
	}
	err := c.do(ctx, http.MethodPost, "/api/config/plan", "application/yaml", doc, &p)
	return p, err
}

func (c *client) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"username": c.user, "password": c.pass})
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/auth/login", "application/json", body, &out); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	c.token = out.Token
	return nil
}

func (c *client) logout() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.do(ctx, http.MethodPost, "/api/auth/logout", "application/json", nil, nil)
}

// do sends one request and decodes a 200 JSON answer into out; any other
// status becomes an error carrying the daemon's {"error": ...} message.
func (c *client) do(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", ctype)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if u := errors.Unwrap(err); u != nil { // drop the URL, which may carry credentials
			err = u
		}
		return fmt.Errorf("reach jagad at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, path)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s: %w", path, err)
	}
	return nil
}
