package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/engine/netguard"
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
	minFreeBytes   int64 // state.Options.MinFreeBytes
	// netPolicy is where webhooks, chat APIs, SMTP and S3 endpoints may
	// connect beyond the public internet (--allow-networks).
	netPolicy netguard.Policy
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

	httpShutdown time.Duration                            // 0: httpShutdownTimeout
	handler      func(*daemon, http.Handler) http.Handler // wraps the API handler
}

// envOr returns the environment value of key, or def when unset or empty.
func envOr(env func(string) (string, bool), key, def string) string {
	if v, ok := env(key); ok && v != "" {
		return v
	}
	return def
}

// serveFlags are serve's command line, read over the environment.
type serveFlags struct {
	c                                               serveConfig
	port, proxies, minFree, networks, origins, idle string
}

// addServeFlags defines serve's flags on fs with their defaults from env.
func addServeFlags(fs *pflag.FlagSet, env func(string) (string, bool)) *serveFlags {
	f := &serveFlags{}
	c := &f.c
	listen := envOr(env, "JAGAD_LISTEN", "")
	if listen == "" {
		listen = ":" + envOr(env, "JAGAD_PORT", "8080")
	}
	fs.StringVarP(&c.configPath, "config", "c", envOr(env, "JAGAD_CONFIG", ""), "jagad.yaml to follow, `FILE` (JAGAD_CONFIG; empty: API-only mode)")
	fs.StringVar(&c.listen, "listen", listen, "listen address `ADDR` (JAGAD_LISTEN, or :JAGAD_PORT)")
	fs.StringVar(&f.port, "port", "", "listen `PORT` (shorthand for --listen :PORT)")
	fs.StringVar(&c.dataDir, "data-dir", envOr(env, "JAGAD_DATA_DIR", "/var/lib/jagad"), "data directory `DIR`: Badger store, master key (JAGAD_DATA_DIR)")
	fs.StringVar(&c.adminUser, "admin-user", envOr(env, "JAGAD_ADMIN_USER", "admin"), "admin user `NAME` (JAGAD_ADMIN_USER)")
	fs.StringVar(&c.logLevel, "log-level", envOr(env, "JAGAD_LOG_LEVEL", "info"), "`LEVEL`: debug | info | warn | error (JAGAD_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr(env, "JAGAD_LOG_FORMAT", "text"), "`FORMAT`: text | json (JAGAD_LOG_FORMAT)")
	fs.StringVar(&c.tlsCert, "tls-cert", envOr(env, "JAGAD_TLS_CERT", ""), "TLS certificate `FILE` (JAGAD_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", envOr(env, "JAGAD_TLS_KEY", ""), "TLS key `FILE` (JAGAD_TLS_KEY)")
	fs.StringVar(&f.proxies, "trusted-proxies", envOr(env, "JAGAD_TRUSTED_PROXIES", ""),
		"comma-separated `CIDRS` or addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (JAGAD_TRUSTED_PROXIES)")
	fs.StringVar(&f.minFree, "min-free-space", envOr(env, "JAGAD_MIN_FREE_SPACE", ""), minFreeHelp)
	fs.StringVar(&f.networks, "allow-networks", envOr(env, "JAGAD_ALLOW_NETWORKS", "loopback"),
		"outbound connections (webhooks, SMTP, S3) may reach these `NETWORKS`: loopback, private, none, or CIDRs, comma-separated; link-local and metadata addresses are always refused (JAGAD_ALLOW_NETWORKS)")
	fs.StringVar(&f.origins, "trusted-origins", envOr(env, "JAGAD_TRUSTED_ORIGINS", ""),
		"comma-separated `ORIGINS` (https://host[:port]) besides the server's own whose pages may send writes with the session cookie (JAGAD_TRUSTED_ORIGINS)")
	fs.StringVar(&f.idle, "session-idle-timeout", envOr(env, "JAGAD_SESSION_IDLE_TIMEOUT", api.DefaultSessionIdle.String()),
		"end a session unused this long, a `DURATION` such as 30m or 8h (besides the absolute 24h; JAGAD_SESSION_IDLE_TIMEOUT)")
	return f
}

// config checks the parsed flags and adds the secrets, which come from the
// environment only. Bad values are usage errors naming the flag.
func (f *serveFlags) config(env func(string) (string, bool)) (*serveConfig, error) {
	c := f.c
	var err error
	if c.netPolicy, err = netguard.ParsePolicy(f.networks); err != nil {
		return nil, usageError{fmt.Errorf("--allow-networks: %w", err)}
	}
	if f.port != "" {
		c.listen = ":" + f.port
	}
	if c.trustedProxies, err = api.ParseTrustedProxies(f.proxies); err != nil {
		return nil, usageError{fmt.Errorf("--trusted-proxies: %w", err)}
	}
	if c.minFreeBytes, err = parseMinFree(f.minFree); err != nil {
		return nil, usageError{fmt.Errorf("--min-free-space %q: %w", f.minFree, err)}
	}
	if c.trustedOrigins, err = api.ParseTrustedOrigins(f.origins); err != nil {
		return nil, usageError{fmt.Errorf("--trusted-origins: %w", err)}
	}
	if c.sessionIdle, err = time.ParseDuration(f.idle); err != nil || c.sessionIdle < time.Minute {
		return nil, usagef("--session-idle-timeout %q: want a duration of at least 1m, such as 30m or 8h", f.idle)
	}
	// Secrets come only from the environment: flags would show in ps.
	c.adminPass = envOr(env, "JAGAD_ADMIN_PASS", "")
	c.masterKey = envOr(env, "JAGAD_MASTER_KEY", "")
	c.encryptionKey = envOr(env, "JAGAD_ENCRYPTION_KEY", "")
	c.metricsToken = envOr(env, "JAGAD_METRICS_TOKEN", "")
	return &c, nil
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
		opts.ReplaceAttr = durationSeconds
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid log format %q: use text or json", format)
}

// durationSeconds writes a time.Duration attribute as a number of seconds
// under the key suffixed "_seconds" ("duration": 1500ms becomes
// "duration_seconds": 1.5). slog's JSON handler would print nanoseconds, a
// unit no log query expects; the suffix names the unit, as metric names do.
func durationSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_seconds") {
		key += "_seconds"
	}
	return slog.Float64(key, a.Value.Duration().Seconds())
}
