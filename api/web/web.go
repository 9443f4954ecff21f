// Package web is Jagad's dashboard: server-rendered html/template pages
// plus one small script of our own (static/app.js), all embedded in the
// binary. Nothing is loaded from elsewhere; every page is sent with a
// Content-Security-Policy that allows only this origin and no inline script.
//
// The pages read the store directly and never write it: every action
// (run now, verify, delete, restore, enable/disable, reload) is a fetch()
// to the REST API with the session cookie, so the API's auth, cross-origin
// protection, validation and file-managed rules apply unchanged. Live
// updates come from GET /api/events: a change event makes the script
// re-fetch the page it shows and swap its <main> when the change concerns
// what the page shows (page.Watch); progress events move the
// progress bars of running jobs.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/state"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CSP is the Content-Security-Policy of every dashboard response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Deps are what the dashboard reads.
type Deps struct {
	Store *state.Store
	// Auth returns the user of the request's session (cookie or bearer).
	Auth func(*http.Request) (user string, ok bool)
	// ScheduleInfo is the engine's next run, last run and last status.
	ScheduleInfo func(id string) (next, last *time.Time, status string)
	// ConfigStatus is the reconciler's status; nil: API-only mode (no jagad.yaml).
	ConfigStatus func() (state.ConfigStatus, error)
	// Progress is the live progress of running jobs; nil: none.
	Progress func() []engine.Progress
	// Capabilities is what a backup of a connection (nil: gone) supports
	// beyond a whole restore; nil: engine.CapabilitiesOf.
	Capabilities func(state.Backup, *state.Connection) engine.Capabilities
	Version      string
	Now          func() time.Time
	Logger       *slog.Logger
	// ClusterGroup is the group's name in cluster mode ("" alone): the
	// API refuses configuration writes, so the pages say so and offer no
	// "New …" forms.
	ClusterGroup string
}

type ui struct {
	d     Deps
	pages map[string]*template.Template
	log   *slog.Logger
	now   func() time.Time
	rates *rateCache
}

// New returns the dashboard's handler. It serves GET and HEAD requests for
// every path outside /api/; mount it where the API answers 404.
func New(d Deps) (http.Handler, error) {
	u := &ui{d: d, log: d.Logger, now: d.Now, pages: map[string]*template.Template{}}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.d.Capabilities == nil {
		u.d.Capabilities = engine.CapabilitiesOf
	}
	u.rates = newRateCache(d.Store)
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	base := template.Must(template.New("layout").Funcs(funcs(u.now)).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		u.pages[name] = t
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(files)))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeFileFS(w, r, staticFS, "static/icon.svg")
	})
	mux.HandleFunc("GET /login", u.loginPage)
	mux.HandleFunc("GET /{$}", u.authed(u.overview))
	mux.HandleFunc("GET /backups", u.authed(u.backups))
	mux.HandleFunc("GET /backups/{id}", u.authed(u.backup))
	mux.HandleFunc("GET /schedules", u.authed(u.schedules))
	mux.HandleFunc("GET /schedules/new", u.authed(u.scheduleEdit))
	mux.HandleFunc("GET /schedules/{id}", u.authed(u.scheduleEdit))
	mux.HandleFunc("GET /config", u.authed(u.config))
	mux.HandleFunc("GET /restore", u.authed(u.restoreWizard))
	mux.HandleFunc("GET /restores", u.authed(u.restores))
	mux.HandleFunc("GET /restores/{id}", u.authed(u.restore))
	mux.HandleFunc("GET /connections", u.authed(u.connections))
	mux.HandleFunc("GET /connections/new", u.authed(u.connectionEdit))
	mux.HandleFunc("GET /connections/{id}", u.authed(u.connectionEdit))
	mux.HandleFunc("GET /storage", u.authed(u.storage))
	mux.HandleFunc("GET /storage/new", u.authed(u.providerEdit))
	mux.HandleFunc("GET /storage/{id}", u.authed(u.providerEdit))
	mux.HandleFunc("GET /notifications", u.authed(u.notifications))
	mux.HandleFunc("GET /notifications/new", u.authed(u.notificationEdit))
	mux.HandleFunc("GET /notifications/{id}", u.authed(u.notificationEdit))
	mux.HandleFunc("GET /account", u.authed(u.account))
	mux.HandleFunc("GET /settings", u.authed(u.settings))
	mux.HandleFunc("GET /", u.authed(func(w http.ResponseWriter, r *http.Request) (page, error) {
		return page{}, errNotFound
	}))
	return headers(mux), nil
}

// headers sets the CSP and friends on every dashboard response.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func cacheFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets change with the binary; a short cache keeps upgrades visible.
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// page is what a page handler hands to the layout.
type page struct {
	Template string // templates/<name>.html
	Title    string
	Nav      string // the nav entry to mark current
	Data     any
	User     string
	Version  string
	Cluster  string // the group in cluster mode: configuration comes from jagad.yaml only
	// Live: the page wants live updates (change events swap its <main>).
	Live bool
	// Watch names the changes a live page re-reads on, space-separated:
	// "kind" (any record of the kind), "kind:ID" (that record), or
	// "kind:shown" (a new record, or one the page shows in an element
	// with data-rec="ID"). Empty: every change.
	Watch string
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

var errNotFound = &httpError{http.StatusNotFound, "Page not found"}

func notFoundf(msg string) error { return &httpError{http.StatusNotFound, msg} }

type pageFunc func(w http.ResponseWriter, r *http.Request) (page, error)

// authed renders fn's page for a logged-in user; others go to /login.
func (u *ui) authed(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, ok := u.d.Auth(r)
		if !ok {
			next := r.URL.RequestURI()
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		p, err := fn(w, r)
		status := http.StatusOK
		if err != nil {
			he, ok := err.(*httpError)
			if !ok {
				u.log.Error("render page", "path", r.URL.Path, "err", err)
				he = &httpError{http.StatusInternalServerError, "Something went wrong reading the store; see the daemon's log."}
			}
			status = he.status
			p = page{Template: "error", Title: http.StatusText(he.status), Data: he.msg}
		}
		p.User = user
		u.render(w, status, p)
	}
}

func (u *ui) render(w http.ResponseWriter, status int, p page) {
	t := u.pages[p.Template]
	if t == nil {
		http.Error(w, "no such page template", http.StatusInternalServerError)
		return
	}
	p.Version = u.d.Version
	p.Cluster = u.d.ClusterGroup
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		u.log.Error("execute template", "page", p.Template, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/api/") {
		return "/"
	}
	return next
}

func (u *ui) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := u.d.Auth(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	u.render(w, http.StatusOK, page{Template: "login", Title: "Sign in", Data: next})
}
