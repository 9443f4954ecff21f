package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/jagad/jagad/api"
)

// serveConfig is the daemon's process configuration (flags over environment).
type serveConfig struct {
	configPath    string
	listen        string
	dataDir       string
	adminUser     string
	adminPass     string
	masterKey     string
	encryptionKey string
	metricsToken  string
	logLevel      string
	logFormat     string
	tlsCert       string
	tlsKey        string
	// trustedProxies are reverse proxies whose X-Forwarded-For is believed.
	trustedProxies []netip.Prefix
	// trustedOrigins may send cookie-authenticated writes besides the server's own origin.
	trustedOrigins []string
	// sessionIdle ends a session unused this long.
	sessionIdle time.Duration

	hooks serveHooks // tests only
}

// serveHooks let in-process tests learn the bound address (listen on
// 127.0.0.1:0) and reach the running daemon.
type serveHooks struct {
	listening func(net.Addr) // after the listener is bound
	ready     func(*daemon)  // once the daemon answers /readyz with 200
}

// envOr returns the environment value of key, or def when unset or empty.
func envOr(env func(string) (string, bool), key, def string) string {
	if v, ok := env(key); ok && v != "" {
		return v
	}
	return def
}

func parseServeFlags(args []string, stderr io.Writer, env func(string) (string, bool)) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := envOr(env, "JAGAD_LISTEN", "")
	if listen == "" {
		listen = ":" + envOr(env, "JAGAD_PORT", "8080")
	}
	fs.StringVar(&c.configPath, "config", envOr(env, "JAGAD_CONFIG", ""), "jagad.yaml to follow (empty: API-only mode)")
	fs.StringVar(&c.configPath, "c", c.configPath, "shorthand for --config")
	fs.StringVar(&c.listen, "listen", listen, "listen address (JAGAD_LISTEN, or :JAGAD_PORT)")
	port := fs.String("port", "", "listen port (shorthand for --listen :PORT)")
	fs.StringVar(&c.dataDir, "data-dir", envOr(env, "JAGAD_DATA_DIR", "/var/lib/jagad"), "data directory (Badger store, master key)")
	fs.StringVar(&c.adminUser, "admin-user", envOr(env, "JAGAD_ADMIN_USER", "admin"), "admin user name")
	fs.StringVar(&c.logLevel, "log-level", envOr(env, "JAGAD_LOG_LEVEL", "info"), "debug | info | warn | error")
	fs.StringVar(&c.logFormat, "log-format", envOr(env, "JAGAD_LOG_FORMAT", "text"), "text | json")
	fs.StringVar(&c.tlsCert, "tls-cert", envOr(env, "JAGAD_TLS_CERT", ""), "TLS certificate file")
	fs.StringVar(&c.tlsKey, "tls-key", envOr(env, "JAGAD_TLS_KEY", ""), "TLS key file")
	proxies := fs.String("trusted-proxies", envOr(env, "JAGAD_TRUSTED_PROXIES", ""),
		"comma-separated CIDRs or addresses of reverse proxies whose X-Forwarded-For/-Proto are believed")
	origins := fs.String("trusted-origins", envOr(env, "JAGAD_TRUSTED_ORIGINS", ""),
		"comma-separated origins (https://host[:port]) besides the server's own whose pages may send writes with the session cookie")
	idle := fs.String("session-idle-timeout", envOr(env, "JAGAD_SESSION_IDLE_TIMEOUT", api.DefaultSessionIdle.String()),
		"end a session unused this long (besides the absolute 24h), e.g. 30m or 8h")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *port != "" {
		c.listen = ":" + *port
	}
	var err error
	if c.trustedProxies, err = api.ParseTrustedProxies(*proxies); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.trustedOrigins, err = api.ParseTrustedOrigins(*origins); err != nil {
		return nil, fmt.Errorf("--trusted-origins: %w", err)
	}
	if c.sessionIdle, err = time.ParseDuration(*idle); err != nil || c.sessionIdle < time.Minute {
		return nil, fmt.Errorf("--session-idle-timeout %q: want a duration of at least 1m, such as 30m or 8h", *idle)
	}
	// Secrets come only from the environment: flags would show in ps.
	c.adminPass = envOr(env, "JAGAD_ADMIN_PASS", "")
	c.masterKey = envOr(env, "JAGAD_MASTER_KEY", "")
	c.encryptionKey = envOr(env, "JAGAD_ENCRYPTION_KEY", "")
	c.metricsToken = envOr(env, "JAGAD_METRICS_TOKEN", "")
	return c, nil
}

// newLogger builds the process logger from level and format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid log format %q: use text or json", format)
}
