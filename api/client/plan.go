// Package client talks to a running daemon's REST API (`jagad plan` uses it).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jagad/jagad/api"
)

// DefaultURL is the daemon address when $JAGAD_URL is unset.
const DefaultURL = "http://127.0.0.1:8080"

// Client talks to a daemon.
type Client struct {
	base       string
	token      string
	user, pass string
	http       *http.Client
}

// New returns a client of the daemon at base (DefaultURL when ""). It
// authenticates with token, or else logs in as user with pass for each call
// and logs that session out afterwards.
func New(base, token, user, pass string) *Client {
	base = strings.TrimRight(base, "/")
	if base == "" {
		base = DefaultURL
	}
	return &Client{base: base, token: token, user: user, pass: pass, http: &http.Client{}}
}

// Plan asks the daemon what applying doc (a jagad.yaml) would change.
func (c *Client) Plan(ctx context.Context, doc []byte) (api.PlanView, error) {
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

func (c *Client) login(ctx context.Context) error {
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

func (c *Client) logout() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.do(ctx, http.MethodPost, "/api/auth/logout", "application/json", nil, nil)
}

// do sends one request and decodes a 200 JSON answer into out; any other
// status becomes an error carrying the daemon's {"error": ...} message.
func (c *Client) do(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.send(req)
	if err != nil {
		return err
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
