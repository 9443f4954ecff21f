package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api/client"
)

// remoteCommands are the subcommands that talk to a running daemon over its
// API (status, backups, schedules, restores, connections, config, tokens,
// login).
func (a *app) remoteCommands() []*cobra.Command {
	r := &remote{app: a}
	cmds := []*cobra.Command{
		r.statusCmd(), r.backupsCmd(), r.schedulesCmd(), r.restoresCmd(),
		r.connectionsCmd(), r.configCmd(), r.tokensCmd(), r.loginCmd(),
	}
	for _, c := range cmds {
		r.addFlags(c)
		if c.HasSubCommands() {
			groupArgs(c)
		}
		for _, sub := range c.Commands() {
			if sub.Args == nil {
				sub.Args = cobra.NoArgs
			}
			wrapArgs(sub)
		}
		wrapArgs(c)
	}
	return cmds
}

// groupArgs makes a command that only groups subcommands refuse to run
// alone or with an unknown subcommand: a usage error naming the choices.
func groupArgs(c *cobra.Command) {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		choices := strings.Join(names, ", ")
		if len(args) == 0 {
			return usagef("missing command: one of %s (see jagad %s --help)", choices, cmd.Name())
		}
		return usagef("unknown command %q: one of %s (see jagad %s --help)", args[0], choices, cmd.Name())
	}
}

// wrapArgs turns the argument errors of c into usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// errNotFound is a name or ID the CLI looked up and did not find.
var errNotFound = errors.New("not found")

// remote holds what every daemon-client command shares: the global flags
// and the client made from them.
type remote struct {
	*app
	server, token string
	json          bool
	now           func() time.Time // for ages; time.Now when nil
}

// addFlags adds the flags every daemon-client command takes.
func (r *remote) addFlags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.StringVar(&r.server, "server", "", "daemon address (default $JAGAD_URL, the one 'jagad login' saved, or "+client.DefaultURL+")")
	f.StringVar(&r.token, "token", "", "API token or session (default $JAGAD_TOKEN, or the session 'jagad login' saved)")
	f.BoolVar(&r.json, "json", false, "print the daemon's JSON answer instead of a table")
}

func (r *remote) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// ctx is the context of one command: cancelled by Ctrl-C.
func (r *remote) ctx() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// client returns a client of the daemon with the credentials in force:
// --token, $JAGAD_TOKEN, or the saved login when it is for the same server.
func (r *remote) client() (*client.Client, error) {
	server := r.server
	if server == "" {
		server = r.getenv("JAGAD_URL")
	}
	token := r.token
	if token == "" {
		token = r.getenv("JAGAD_TOKEN")
	}
	if token == "" {
		saved, err := r.loadLogin()
		if err != nil {
			return nil, err
		}
		if saved != nil && (server == "" || sameServer(server, saved.Server)) {
			token = saved.Token
			if server == "" {
				server = saved.Server
			}
		}
	}
	if token == "" {
		return nil, errors.New("no credentials: run 'jagad login', or set --token / JAGAD_TOKEN")
	}
	return client.New(server, token, "", ""), nil
}

func sameServer(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// savedLogin is the file `jagad login` writes.
type savedLogin struct {
	Server  string    `json:"server"`
	User    string    `json:"user"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// userConfigDir is os.UserConfigDir reading the app's environment, so that
// tests can point it elsewhere.
func (r *remote) userConfigDir() (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		return os.UserConfigDir()
	}
	if d := r.getenv("XDG_CONFIG_HOME"); d != "" {
		if !filepath.IsAbs(d) {
			return "", fmt.Errorf("XDG_CONFIG_HOME %q is not an absolute path", d)
		}
		return d, nil
	}
	home := r.getenv("HOME")
	if home == "" {
		return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
	}
	return filepath.Join(home, ".config"), nil
}

// loginPath is where `jagad login` saves the session.
func (r *remote) loginPath() (string, error) {
	dir, err := r.userConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w", err)
	}
	return filepath.Join(dir, "jagad", "login.json"), nil
}

// loadLogin reads the saved login; nil when there is none.
func (r *remote) loadLogin() (*savedLogin, error) {
	p, err := r.loginPath()
	if err != nil {
		return nil, nil // no config directory: nothing was saved
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saved login: %w", err)
	}
	var s savedLogin
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read saved login %s: %w", p, err)
	}
	return &s, nil
}

// saveLogin writes s to the login file, readable by its owner only.
func (r *remote) saveLogin(s savedLogin) (string, error) {
	p, err := r.loginPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".login-*")
	if err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save login: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("save login: %w", err)
	}
	return p, nil
}

// printJSON prints a JSON answer of the daemon, indented.
func (r *remote) printJSON(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("print JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := r.stdout.Write(buf.Bytes())
	return err
}

// encodeJSON prints v as indented JSON (for answers the CLI makes itself).
func (r *remote) encodeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.printJSON(b)
}

// table is an aligned table on stdout.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields prints "Key:  value" lines, aligned.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], v)
	}
	return tw.Flush()
}

// ago renders t relative to now for people: "just now", "3h ago", "in 5m".
func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	d := now.Sub(*t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
		return "in " + roughDuration(d)
	}
	if d < 5*time.Second {
		return "just now"
	}
	return roughDuration(d) + suffix
}

// roughDuration renders d in its largest unit: 45s, 12m, 3h, 2d.
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// duration renders milliseconds for people: 850ms, 12.3s, 2m08s.
func duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case ms <= 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%dms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// stamp renders a time in UTC for a detail view.
func stamp(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339) + " (" + ago(t, now) + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// short cuts a checksum for a table.
func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
