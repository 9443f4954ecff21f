package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/jagad/jagad/api/client"
)

// Token scopes (issue 14 §2).
var tokenScopes = []string{"read", "operate", "admin"}

func checkScope(s string) error {
	for _, v := range tokenScopes {
		if s == v {
			return nil
		}
	}
	return usagef("--scope must be one of %s, not %q", strings.Join(tokenScopes, ", "), s)
}

// newTokenSecret returns a fresh token secret, "jgd_" and 256 random bits
// in unpadded base64url, and its hash as jagad.yaml declares it.
func newTokenSecret() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("random: %w", err)
	}
	secret = "jgd_" + base64.RawURLEncoding.EncodeToString(b)
	return secret, tokenHash(secret), nil
}

// tokenHash is the hash jagad.yaml holds for a token: "sha256:" + hex.
func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// parseExpiry reads --expires: a duration from now (720h, 90d) or a date
// (2027-01-31 or RFC 3339).
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && days > 0 && fmt.Sprint(days) == n {
			t := now.Add(time.Duration(days) * 24 * time.Hour).UTC()
			return &t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		t := now.Add(d).UTC()
		return &t, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return nil, usagef("--expires %s is in the past", s)
			}
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, usagef("--expires wants a duration (720h, 90d) or a date (2027-01-31), not %q", s)
}

func (r *remote) tokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Create, list and revoke API tokens; make a token for jagad.yaml", Args: cobra.NoArgs}
	var scope, expires string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token on the daemon; its secret is shown once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkScope(scope); err != nil {
				return err
			}
			exp, err := parseExpiry(expires, r.clock())
			if err != nil {
				return err
			}
			return r.do(func(ctx context.Context, c *client.Client) error {
				t, raw, err := c.CreateToken(ctx, client.TokenRequest{Name: args[0], Scope: scope, ExpiresAt: exp})
				if err != nil {
					return err
				}
				expiry := "never"
				if t.ExpiresAt != nil {
					expiry = t.ExpiresAt.UTC().Format(time.RFC3339)
				}
				return r.say(raw, "Token %q (%s, scope %s, expires %s) created.\n"+
					"Its secret, shown only now (use it as JAGAD_TOKEN or in Authorization: Bearer):\n\n%s\n",
					t.Name, t.ID, t.Scope, expiry, t.Secret)
			})
		},
	}
	create.Flags().StringVar(&scope, "scope", "read", "read, operate or admin")
	create.Flags().StringVar(&expires, "expires", "", "expire after a duration (720h, 90d) or on a date (2027-01-31); default never")

	list := listCmd(r, "List API tokens (never their secrets)", "tokens", (*client.Client).Tokens,
		func(_ context.Context, _ *client.Client, all []client.Token) error {
			now := r.clock()
			return writeTable(r.stdout, all, []string{"ID", "NAME", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "FROM", "MANAGED BY"},
				func(x client.Token) []string {
					exp := "never"
					if x.ExpiresAt != nil {
						exp = ago(x.ExpiresAt, now)
						if x.ExpiresAt.Before(now) {
							exp = "expired " + exp
						}
					}
					return []string{x.ID, x.Name, x.Scope, ago(&x.CreatedAt, now), exp, ago(x.LastUsedAt, now), x.LastUsedFrom, x.ManagedBy}
				})
		})
	revoke := &cobra.Command{
		Use:   "revoke TOKEN",
		Short: "Revoke an API token (name or ID)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.do(func(ctx context.Context, c *client.Client) error {
				found, err := pick(ctx, c, (*client.Client).Tokens, args[0], func(x client.Token) (string, string) { return x.ID, x.Name },
					fmt.Errorf("token %q %w (see jagad tokens list)", args[0], errNotFound))
				if err != nil {
					return err
				}
				if err := c.RevokeToken(ctx, found.ID); err != nil {
					return err
				}
				return r.tell(map[string]any{"revoked": true, "id": found.ID, "name": found.Name}, "Revoked token %q (%s).\n", found.Name, found.ID)
			})
		},
	}
	var newScope string
	offline := &cobra.Command{
		Use:   "new NAME",
		Short: "Make a token for jagad.yaml offline: print its secret and the tokens: entry with its hash",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkScope(newScope); err != nil {
				return err
			}
			secret, hash, err := newTokenSecret()
			if err != nil {
				return err
			}
			if r.json {
				return r.encodeJSON(map[string]string{"name": args[0], "scope": newScope, "token": secret, "hash": hash})
			}
			fmt.Fprintf(r.stdout, "Secret (shown once; give it to the client as JAGAD_TOKEN, keep it out of git):\n\n  %s\n\n", secret)
			fmt.Fprintf(r.stdout, "Add to jagad.yaml (the hash only):\n\ntokens:\n  - name: %s\n    scope: %s\n    hash: %s\n", yamlString(args[0]), newScope, hash)
			return nil
		},
	}
	offline.Flags().StringVar(&newScope, "scope", "read", "read, operate or admin")
	cmd.AddCommand(create, list, revoke, offline)
	return cmd
}

// yamlString quotes s when YAML would not read it back as the same plain string.
func yamlString(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			plain = false
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~":
		plain = false
	}
	if plain {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// loginCmd is `jagad login`: a session for the CLI, saved in the user's
// config directory. The password comes from the terminal (not echoed) or,
// with --password-stdin, from the first line of stdin; never from a flag.
func (r *remote) loginCmd() *cobra.Command {
	var user string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "login [--user NAME] [--password-stdin]",
		Short: "Log in to the daemon and save the session for the other commands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server := r.server
			if server == "" {
				server = r.getenv("JAGAD_URL")
			}
			if user == "" {
				user = r.getenv("JAGAD_USER")
			}
			in, isTerm := r.stdin.(*os.File)
			isTerm = isTerm && term.IsTerminal(int(in.Fd()))
			var pass string
			switch {
			case fromStdin:
				if user == "" {
					return usagef("--password-stdin needs --user (or JAGAD_USER)")
				}
				line, err := bufio.NewReader(r.stdin).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read the password from stdin: %w", err)
				}
				pass = strings.TrimRight(line, "\r\n")
			case isTerm:
				if user == "" {
					fmt.Fprint(r.stderr, "User: ")
					line, err := bufio.NewReader(r.stdin).ReadString('\n')
					if err != nil && !errors.Is(err, io.EOF) {
						return fmt.Errorf("read the user: %w", err)
					}
					user = strings.TrimSpace(line)
				}
				fmt.Fprint(r.stderr, "Password: ")
				b, err := term.ReadPassword(int(in.Fd()))
				fmt.Fprintln(r.stderr)
				if err != nil {
					return fmt.Errorf("read the password: %w", err)
				}
				pass = string(b)
			default:
				return usagef("stdin is not a terminal: pass the password on stdin with --password-stdin")
			}
			if user == "" || pass == "" {
				return errors.New("user and password must not be empty")
			}
			c := client.New(server, "", "", "")
			ctx, cancel := r.ctx()
			defer cancel()
			tok, err := c.Login(ctx, user, pass)
			if err != nil {
				return err
			}
			sess, _, err := c.Check(ctx)
			if err != nil {
				return err
			}
			path, err := r.saveLogin(savedLogin{Server: c.Base(), User: sess.User, Token: tok, Expires: sess.Expires})
			if err != nil {
				return err
			}
			if r.json {
				return r.encodeJSON(map[string]any{"server": c.Base(), "user": sess.User, "expires": sess.Expires, "file": path})
			}
			fmt.Fprintf(r.stdout, "Logged in to %s as %s. The session expires %s (%s); saved in %s.\n",
				c.Base(), sess.User, sess.Expires.UTC().Format(time.RFC3339), ago(&sess.Expires, r.clock()), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "user name (default $JAGAD_USER; asked on a terminal)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}
