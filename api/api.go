// Package api is Jagad's REST API: the endpoints of the original Jagad API
// (see ../shared/jagad-api-reference.txt) plus the config endpoints, served
// with httprouter. Handlers return (any, error); one wrapper does auth, CSRF,
// body limits and JSON, and one table (statusOf) maps error codes to HTTP
// statuses.
//
// Decisions worth knowing:
//   - Sessions: 32 random bytes, stored as their SHA-256 in Badger, fixed 24 h
//     expiry plus an idle timeout (Deps.SessionIdleTimeout, default 8 h; use
//     is written at most once a minute), all deleted by a password change.
//     Token from the Authorization header ("<token>" or "Bearer <token>") or
//     the cookie: "session", or "__Host-session" over HTTPS; SameSite=Lax.
//   - CSRF: every non-safe request without an Authorization header passes
//     net/http.CrossOriginProtection (Sec-Fetch-Site, else Origin against
//     Host; Deps.TrustedOrigins let other origins in). No Content-Type rule:
//     the web UI sends body-less writes with the cookie and no Content-Type.
//   - JSON bodies: one value, no unknown fields, no key given twice.
//   - Failed logins are throttled per address and per (user, address); see
//     ratelimit.go for the rule. The client is RemoteAddr, or, behind a
//     trusted proxy (Deps.TrustedProxies), the address X-Forwarded-For names.
//   - Creating a connection does not connect to it (GitOps users declare
//     connections before their servers exist); use .../test.
//   - Writes to file-managed records are 409; a file-managed schedule's
//     `enabled` can be overridden at run time.
//   - Secrets are never returned: connection passwords are omitted, secret
//     keys and notification secrets are masked "••••••", and a masked or
//     empty secret on update keeps the stored value.
package api

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/jagad/jagad/state"
)

// maxBody caps every request body.
const maxBody = 1 << 20

// Deps are the API's dependencies.
type Deps struct {
	Store  *state.Store
	Engine Engine // nil: NotReadyEngine
	// Config is the reconciler; nil means API-only mode (no config file):
	// status answers 404 and plan/reload 409 with "no config file".
	Config ConfigController
	// DB reaches database servers for connection test and discover; nil: the real client.
	DB      DBClient
	Logger  *slog.Logger
	Version string
	Now     func() time.Time
	Metrics http.Handler // served at GET /metrics; nil: 404
	// MetricsToken returns the bearer token /metrics requires ("" or a nil
	// func: public). It is asked on every scrape, so a reload can change it.
	MetricsToken func() string
	Ready        func() error // GET /readyz; nil: the store's Ping
	Health       func() Health
	// AdminUser and AdminPass seed the admin account when the store has none
	// (see SeedAdmin); an existing account in the store always wins.
	AdminUser, AdminPass string
	TLS                  bool // the session cookie is Secure and named __Host-session
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed; see clientAddr.
	TrustedProxies []netip.Prefix
	// TrustedOrigins are origins ("https://ui.example.com") besides the
	// server's own whose browser pages may send writes (see ParseTrustedOrigins).
	TrustedOrigins []string
	// SessionIdleTimeout ends a session unused this long (besides the
	// absolute 24 h); 0: DefaultSessionIdle.
	SessionIdleTimeout time.Duration
	// Progress is the engine's live progress (GET /api/events, the progress
	// of running backups and restores); nil: none reported.
	Progress ProgressSource
	// Done, when closed, ends every /api/events stream (server shutdown:
	// http.Server.Shutdown waits for them otherwise).
	Done <-chan struct{}
	// EventsHeartbeat is the /api/events heartbeat period (0: 15 s).
	EventsHeartbeat time.Duration
	// UI serves the dashboard (package api/web) at / and every other GET
	// path outside /api/ that the API does not answer.
	UI bool
	// ClusterGroup is the group's name in cluster mode ("" alone): writes
	// of configuration records answer 409 (clustermode.go).
	ClusterGroup string
	// Restart names the settings that changed but apply only at a restart
	// (the cluster: section), in the config status and plans; nil: none.
	Restart RestartNotes
}

type server struct {
	store        *state.Store
	engine       Engine
	config       ConfigController
	db           DBClient
	log          *slog.Logger
	version      string
	now          func() time.Time
	metrics      http.Handler
	metricsToken func() string
	ready        func() error
	health       func() Health
	tls          bool
	proxies      []netip.Prefix
	origins      *http.CrossOriginProtection
	idle         time.Duration // session idle timeout
	bumpEvery    time.Duration // how stale last-seen may get before it is written
	limiter      *loginLimiter
	progress     ProgressSource
	done         <-chan struct{}
	heartbeat    time.Duration
	ui           http.Handler // nil: no dashboard
	clusterGroup string       // cluster mode: configuration writes refused (clustermode.go)
	restart      RestartNotes // nil: nothing waits for a restart
}

// New returns the API handler. It seeds the admin account when the store has
// none (call SeedAdmin at startup first to handle its error).
func New(d Deps) http.Handler {
	s := &server{
		store: d.Store, engine: d.Engine, config: d.Config, db: d.DB, log: d.Logger,
		version: d.Version, now: d.Now, metrics: d.Metrics, metricsToken: d.MetricsToken,
		ready: d.Ready, health: d.Health, tls: d.TLS, proxies: d.TrustedProxies, restart: d.Restart,
		clusterGroup: d.ClusterGroup,
	}
	if s.metricsToken == nil {
		s.metricsToken = func() string { return "" }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "api")
	if s.engine == nil {
		s.engine = NotReadyEngine{}
	}
	if s.db == nil {
		s.db = defaultDBClient{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.version == "" {
		s.version = "dev"
	}
	if s.ready == nil {
		s.ready = s.store.Ping
	}
	s.limiter = newLoginLimiter()
	s.progress, s.done, s.heartbeat = d.Progress, d.Done, d.EventsHeartbeat
	if s.heartbeat <= 0 {
		s.heartbeat = defaultHeartbeat
	}
	s.idle = d.SessionIdleTimeout
	if s.idle <= 0 {
		s.idle = DefaultSessionIdle
	}
	s.bumpEvery = min(time.Minute, s.idle/8)
	s.origins = http.NewCrossOriginProtection()
	for _, o := range d.TrustedOrigins {
		if err := s.origins.AddTrustedOrigin(o); err != nil {
			s.log.Error("ignoring trusted origin", "origin", o, "err", err)
		}
	}
	if d.UI {
		ui, err := s.newUI()
		if err != nil {
			s.log.Error("dashboard disabled", "err", err)
		}
		s.ui = ui
	}
	if err := SeedAdmin(s.store, AdminSeed{User: d.AdminUser, Pass: d.AdminPass}, s.log); err != nil {
		s.log.Error("seed admin account", "err", err)
	}
	return s.accessLog(securityHeaders(s.routes()))
}
