package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

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

const serveHead = `Usage: jagad serve [flags]

Runs the daemon: the REST API, the scheduler, and (with --config) the
reconciler that follows jagad.yaml. Secrets come from the environment only
(JAGAD_ADMIN_PASS, JAGAD_MASTER_KEY, JAGAD_ENCRYPTION_KEY,
JAGAD_METRICS_TOKEN), never from flags. Flags win over the environment.
`

// parseServeFlags reads the serve flags over the environment. It prints
// nothing: it returns a helpRequest for --help and a usageError for a bad
// command line.
func parseServeFlags(args []string, _ io.Writer, env func(string) (string, bool)) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
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
	minFree := fs.String("min-free-space", envOr(env, "JAGAD_MIN_FREE_SPACE", ""), minFreeHelp)
	networks := fs.String("allow-networks", envOr(env, "JAGAD_ALLOW_NETWORKS", "loopback"),
		"outbound connections (webhooks, SMTP, S3) may reach: loopback, private, none, or CIDRs, comma-separated; link-local and metadata addresses are always refused")
	origins := fs.String("trusted-origins", envOr(env, "JAGAD_TRUSTED_ORIGINS", ""),
		"comma-separated origins (https://host[:port]) besides the server's own whose pages may send writes with the session cookie")
	idle := fs.String("session-idle-timeout", envOr(env, "JAGAD_SESSION_IDLE_TIMEOUT", api.DefaultSessionIdle.String()),
		"end a session unused this long (besides the absolute 24h), e.g. 30m or 8h")
	if err := parseQuiet(fs, args, serveHead); err != nil {
		return nil, err // a helpRequest or a usageError
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var perr error
	if c.netPolicy, perr = netguard.ParsePolicy(*networks); perr != nil {
		return nil, usageError{fmt.Errorf("--allow-networks: %w", perr)}
	}
	if *port != "" {
		c.listen = ":" + *port
	}
	var err error
	if c.trustedProxies, err = api.ParseTrustedProxies(*proxies); err != nil {
		return nil, usageError{fmt.Errorf("--trusted-proxies: %w", err)}
	}
	if c.minFreeBytes, err = parseMinFree(*minFree); err != nil {
		return nil, usageError{fmt.Errorf("--min-free-space %q: %w", *minFree, err)}
	}
	if c.trustedOrigins, err = api.ParseTrustedOrigins(*origins); err != nil {
		return nil, usageError{fmt.Errorf("--trusted-origins: %w", err)}
	}
	if c.sessionIdle, err = time.ParseDuration(*idle); err != nil || c.sessionIdle < time.Minute {
		return nil, usagef("--session-idle-timeout %q: want a duration of at least 1m, such as 30m or 8h", *idle)
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
