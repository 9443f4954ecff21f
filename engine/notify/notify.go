// Package notify delivers backup notifications to telegram, discord, slack,
// email (SMTP) and generic webhook targets.
//
// Chat channels use the original Jagad message text (see Message). Every send
// is bounded: a few attempts with backoff, HTTP 429 honours Retry-After (capped),
// 5xx and network errors are retried, other 4xx and 3xx are not (redirects are
// never followed). Errors and log lines never contain tokens, webhook URLs,
// passwords or header values: they are built from scrubbed text only.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jagad/jagad/engine/netguard"
)

// Event kinds.
const (
	KindBackupSucceeded = "backup.succeeded"
	KindBackupFailed    = "backup.failed"
	KindVerifyFailed    = "verify.failed"
	// KindBackupCopyFailed: a backup succeeded on its primary storage but
	// one of its copies (copies_to) could not be stored.
	KindBackupCopyFailed = "backup.copy_failed"
	KindConfigFailed     = "config.failed"
	KindTest             = "test"
)

// Channel types.
const (
	TypeTelegram = "telegram"
	TypeDiscord  = "discord"
	TypeSlack    = "slack"
	TypeEmail    = "email"
	TypeWebhook  = "webhook"
)

// Event is one thing worth telling people about.
type Event struct {
	Kind        string // backup.succeeded | backup.failed | verify.failed | config.failed | test
	Status      string // success | failed
	BackupID    string
	Schedule    string
	Connection  string
	Database    string
	DBType      string
	BackupType  string
	StoragePath string
	SizeBytes   int64
	DurationMs  int64
	StartedAt   time.Time
	CompletedAt time.Time
	Log         string // full job log; channels send its last 500 characters
	Error       string // short error for failures and config errors
}

// TestEvent is the event the original sends from its "test" endpoint.
func TestEvent() Event {
	return Event{
		Kind:       KindTest,
		Status:     "success",
		Database:   "test-db",
		DBType:     "test",
		SizeBytes:  1048576,
		DurationMs: 5000,
		Log:        "Test notification from Jagad",
	}
}

// Target is one configured destination.
type Target struct {
	Name   string
	Type   string // telegram | discord | slack | email | webhook
	Config map[string]any
}

// Options configures a Notifier. Zero values get safe defaults.
type Options struct {
	// HTTPClient is used for HTTP channels. nil: a client with a 15 s timeout
	// whose connections go through Guard. Redirects are never followed,
	// whatever client is given.
	HTTPClient *http.Client
	// Guard refuses connections (HTTP and SMTP) to addresses its policy does
	// not allow. nil: netguard's default policy (no link-local or metadata
	// addresses, no private ranges; loopback allowed).
	Guard *netguard.Guard
	// TelegramBaseURL defaults to https://api.telegram.org; a target may
	// override it with the config key "api_url".
	TelegramBaseURL string
	// MaxAttempts bounds the tries per Send (default 3).
	MaxAttempts int
	// Backoff is the wait after failed attempt n (1-based); default 1s, 2s,
	// 4s… capped at 30 s.
	Backoff func(attempt int) time.Duration
	// MaxRetryAfter caps an honoured Retry-After (default 60 s).
	MaxRetryAfter time.Duration
	// Logger receives one line per failed attempt (default: discard).
	Logger *slog.Logger
	// Sleep waits between attempts; it must return ctx.Err() when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (Retry-After dates, email Date header). Default time.Now.
	Now func() time.Time
	// TLSConfig is the base TLS configuration for SMTP (STARTTLS and implicit
	// TLS). ServerName defaults to the target's smtp_host. nil: system roots.
	TLSConfig *tls.Config
	// SMTPTimeout bounds one SMTP conversation (default 30 s).
	SMTPTimeout time.Duration
}

// Notifier sends events to targets. It is safe for concurrent use.
type Notifier struct {
	client        *http.Client
	telegramBase  string
	maxAttempts   int
	backoff       func(int) time.Duration
	maxRetryAfter time.Duration
	log           *slog.Logger
	sleep         func(context.Context, time.Duration) error
	now           func() time.Time
	tlsConfig     *tls.Config
	smtpTimeout   time.Duration
	guard         *netguard.Guard
}

// New returns a Notifier with opts' defaults filled in.
func New(opts Options) *Notifier {
	if opts.Guard == nil {
		opts.Guard = netguard.New(netguard.Options{Policy: netguard.DefaultPolicy()})
	}
	n := &Notifier{
		guard:         opts.Guard,
		client:        noRedirectClient(opts.HTTPClient, opts.Guard),
		telegramBase:  opts.TelegramBaseURL,
		maxAttempts:   opts.MaxAttempts,
		backoff:       opts.Backoff,
		maxRetryAfter: opts.MaxRetryAfter,
		log:           opts.Logger,
		sleep:         opts.Sleep,
		now:           opts.Now,
		tlsConfig:     opts.TLSConfig,
		smtpTimeout:   opts.SMTPTimeout,
	}
	if n.telegramBase == "" {
		n.telegramBase = "https://api.telegram.org"
	}
	if n.maxAttempts <= 0 {
		n.maxAttempts = 3
	}
	if n.backoff == nil {
		n.backoff = defaultBackoff
	}
	if n.maxRetryAfter <= 0 {
		n.maxRetryAfter = 60 * time.Second
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.sleep == nil {
		n.sleep = sleepCtx
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.smtpTimeout <= 0 {
		n.smtpTimeout = 30 * time.Second
	}
	return n
}

// noRedirectClient returns a copy of c (or a 15 s client dialling through g)
// that never follows redirects: a 3xx comes back as the response and is
// reported as an error.
func noRedirectClient(c *http.Client, g *netguard.Guard) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		out.Timeout = 15 * time.Second
		out.Transport = g.Transport()
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

func defaultBackoff(attempt int) time.Duration {
	const maxBackoff = 30 * time.Second
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 6 {
		return maxBackoff
	}
	d := time.Second << (attempt - 1)
	return min(d, maxBackoff)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrUnknownType is returned for a target type this package does not know.
var ErrUnknownType = errors.New("unknown notification type")

// ErrInvalidConfig wraps configuration problems (missing or malformed keys).
var ErrInvalidConfig = errors.New("invalid notification config")

// Send delivers ev to t with bounded retries. The returned error names the
// target and type but never contains secrets; it wraps ctx.Err() when the
// context ended, and ErrInvalidConfig or ErrUnknownType when applicable.
func (n *Notifier) Send(ctx context.Context, t Target, ev Event) error {
	// Config errors name keys only, never values, so they are returned as is.
	do, red, err := n.prepare(t, ev)
	if err != nil {
		return fmt.Errorf("notify %s %q: %w", t.Type, t.Name, err)
	}
	if err := n.retry(ctx, t, red, do); err != nil {
		return fmt.Errorf("notify %s %q: %w", t.Type, t.Name, err)
	}
	return nil
}

// prepare validates t's config, builds the payload once and returns the
// attempt function plus the redactor for t's secrets.
func (n *Notifier) prepare(t Target, ev Event) (attemptFunc, redactor, error) {
	red := newRedactor(t.Type, t.Config)
	var (
		do  attemptFunc
		err error
	)
	switch t.Type {
	case TypeTelegram:
		do, err = n.telegram(t.Config, ev)
	case TypeDiscord:
		do, err = n.discord(t.Config, ev)
	case TypeSlack:
		do, err = n.slack(t.Config, ev)
	case TypeWebhook:
		do, err = n.webhook(t.Config, ev)
	case TypeEmail:
		do, err = n.email(t.Config, ev)
	default:
		err = ErrUnknownType
	}
	return do, red, err
}
