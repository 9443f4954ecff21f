package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// yamlTypes are the body types POST /api/config/plan accepts.
var yamlTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "text/plain"}

// routes registers every endpoint. httprouter v1.3 cannot hold a static and a
// wildcard segment at the same position, so /api/backups/stats,
// /api/connections/_new/test and PUT /api/connections/databases/{id} are
// reached through the wildcard routes and dispatched inside their handlers.
func (s *server) routes() http.Handler {
	rt := httprouter.New()
	cond := s.conditionals() // conditional.go: version-tagged lists
	for _, r := range s.routeTable() {
		rt.Handle(r.method, r.path, s.wrap(cond(r.method, r.path, s.clusterGuard(r.method, r.path, r.fn)), r.opts))
	}

	rt.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.serveUI(w, r) { // ui.go
			return
		}
		s.writeError(w, r, fault.NotFound("not found"))
	})
	rt.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.serveUI(w, r) {
			return
		}
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	})
	rt.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) {
		s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}
	return rt
}

// route is one endpoint: its method, path, handler and options.
type route struct {
	method, path string
	fn           handlerFunc
	opts         routeOpts
}

// routeTable lists every endpoint with the scope an API token needs for it
// (state.Scope; a session may call them all). read: GET routes, the event
// stream, config plan and /metrics; operate: read plus running, verifying
// and restoring backups and testing and discovering; admin: everything
// else. TestEveryRouteHasAScope fails on a route left out of its table.
func (s *server) routeTable() []route {
	var rs []route
	h := func(method, path string, fn handlerFunc, o routeOpts) { rs = append(rs, route{method, path, fn, o}) }
	pub := routeOpts{public: true}
	read := routeOpts{scope: state.ScopeRead}
	operate := routeOpts{scope: state.ScopeOperate}
	admin := routeOpts{scope: state.ScopeAdmin}
	session := routeOpts{scope: state.ScopeAdmin, session: true}

	h("POST", "/api/auth/login", s.login, pub)
	h("POST", "/api/auth/logout", s.logout, pub)
	h("GET", "/api/auth/check", s.check, read)
	h("PUT", "/api/auth/password", s.changePassword, session)
	h("GET", "/api/health", s.healthz, pub)
	h("GET", "/livez", s.livez, pub)
	h("GET", "/readyz", s.readyz, pub)
	// Public unless a metrics token is set; then that token or an API
	// token of scope read (tokens_auth.go: metricsAllowed).
	h("GET", "/metrics", s.metricsRoute, pub)

	h("GET", "/api/connections", s.listConnections, read)
	h("POST", "/api/connections", s.createConnection, admin)
	h("GET", "/api/connections/:id", s.getConnection, read)
	h("PUT", "/api/connections/:id", s.updateConnection, admin)
	h("DELETE", "/api/connections/:id", s.deleteConnection, admin)
	h("POST", "/api/connections/:id/test", s.testConnection, operate) // also _new
	h("GET", "/api/connections/:id/databases", s.listDatabases, read)
	h("POST", "/api/connections/:id/discover", s.discoverDatabases, operate)
	h("PUT", "/api/connections/:id/:dbid", s.updateDatabase, admin)            // :id == "databases"
	h("POST", "/api/connections/:id/archive/verify", s.verifyArchive, operate) // archive.go

	h("GET", "/api/backups", s.listBackups, read)
	h("POST", "/api/backups", s.createBackup, operate)
	h("GET", "/api/backups/:id", s.getBackup, read) // also stats
	h("DELETE", "/api/backups/:id", s.deleteBackup, admin)
	h("GET", "/api/backups/:id/logs", s.backupLogs, read)
	h("GET", "/api/backups/:id/download", s.downloadBackup, operate) // the data itself: not for monitoring tokens
	h("POST", "/api/backups/:id/verify", s.verifyBackup, operate)
	h("POST", "/api/backups/:id/restore", s.restoreBackup, operate)
	h("POST", "/api/backups/:id/copies", s.copyBackup, operate) // backup_copies.go

	h("GET", "/api/events", s.events, read) // events.go

	h("GET", "/api/restores", s.listRestores, read)
	h("GET", "/api/restores/:id", s.getRestore, read)

	h("GET", "/api/schedules", s.listSchedules, read)
	h("POST", "/api/schedules", s.createSchedule, admin)
	h("GET", "/api/schedules/:id", s.getSchedule, read)
	h("PUT", "/api/schedules/:id", s.updateSchedule, admin)
	h("DELETE", "/api/schedules/:id", s.deleteSchedule, admin)
	h("POST", "/api/schedules/:id/run", s.runSchedule, operate)

	h("GET", "/api/storage-providers", s.listProviders, read)
	h("POST", "/api/storage-providers", s.createProvider, admin)
	h("GET", "/api/storage-providers/:id", s.getProvider, read)
	h("PUT", "/api/storage-providers/:id", s.updateProvider, admin)
	h("DELETE", "/api/storage-providers/:id", s.deleteProvider, admin)
	h("POST", "/api/storage-providers/:id/test", s.testProvider, operate)
	h("POST", "/api/storage-providers/:id/set-default", s.setDefaultProvider, admin)

	h("GET", "/api/notifications", s.listNotifications, read)
	h("POST", "/api/notifications", s.createNotification, admin)
	h("GET", "/api/notifications/:id", s.getNotification, read)
	h("PUT", "/api/notifications/:id", s.updateNotification, admin)
	h("DELETE", "/api/notifications/:id", s.deleteNotification, admin)
	h("POST", "/api/notifications/:id/test", s.testNotification, operate)

	h("GET", "/api/settings", s.getSettings, read)
	h("PUT", "/api/settings", s.putSettings, admin)

	h("GET", "/api/config/status", s.configStatus, read)
	h("POST", "/api/config/plan", s.configPlan, read)
	h("POST", "/api/config/reload", s.configReload, admin)
	h("GET", "/api/config/export", s.configExport, read)

	h("GET", "/api/tokens", s.listTokens, admin) // tokens.go
	h("POST", "/api/tokens", s.createToken, admin)
	h("DELETE", "/api/tokens/:id", s.deleteToken, admin)
	return rs
}
