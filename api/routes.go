package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

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
	pub := routeOpts{public: true}
	auth := routeOpts{}
	h := func(method, path string, fn handlerFunc, o routeOpts) { rt.Handle(method, path, s.wrap(fn, o)) }

	h("POST", "/api/auth/login", s.login, pub)
	h("POST", "/api/auth/logout", s.logout, pub)
	h("GET", "/api/auth/check", s.check, auth)
	h("PUT", "/api/auth/password", s.changePassword, auth)
	h("GET", "/api/health", s.healthz, pub)
	rt.GET("/livez", s.wrap(s.livez, pub))
	rt.GET("/readyz", s.wrap(s.readyz, pub))
	rt.GET("/metrics", s.serveMetrics)

	h("GET", "/api/connections", s.listConnections, auth)
	h("POST", "/api/connections", s.createConnection, auth)
	h("GET", "/api/connections/:id", s.getConnection, auth)
	h("PUT", "/api/connections/:id", s.updateConnection, auth)
	h("DELETE", "/api/connections/:id", s.deleteConnection, auth)
	h("POST", "/api/connections/:id/test", s.testConnection, auth) // also _new
	h("GET", "/api/connections/:id/databases", s.listDatabases, auth)
	h("POST", "/api/connections/:id/discover", s.discoverDatabases, auth)
	h("PUT", "/api/connections/:id/:dbid", s.updateDatabase, auth) // :id == "databases"

	h("GET", "/api/backups", s.listBackups, auth)
	h("POST", "/api/backups", s.createBackup, auth)
	h("GET", "/api/backups/:id", s.getBackup, auth) // also stats
	h("DELETE", "/api/backups/:id", s.deleteBackup, auth)
	h("GET", "/api/backups/:id/logs", s.backupLogs, auth)
	h("GET", "/api/backups/:id/download", s.downloadBackup, auth)
	h("POST", "/api/backups/:id/verify", s.verifyBackup, auth)
	h("POST", "/api/backups/:id/restore", s.restoreBackup, auth)
	h("POST", "/api/backups/:id/copies", s.copyBackup, auth)

	h("GET", "/api/events", s.events, auth) // events.go

	h("GET", "/api/restores", s.listRestores, auth)
	h("GET", "/api/restores/:id", s.getRestore, auth)

	h("GET", "/api/schedules", s.listSchedules, auth)
	h("POST", "/api/schedules", s.createSchedule, auth)
	h("GET", "/api/schedules/:id", s.getSchedule, auth)
	h("PUT", "/api/schedules/:id", s.updateSchedule, auth)
	h("DELETE", "/api/schedules/:id", s.deleteSchedule, auth)
	h("POST", "/api/schedules/:id/run", s.runSchedule, auth)

	h("GET", "/api/storage-providers", s.listProviders, auth)
	h("POST", "/api/storage-providers", s.createProvider, auth)
	h("GET", "/api/storage-providers/:id", s.getProvider, auth)
	h("PUT", "/api/storage-providers/:id", s.updateProvider, auth)
	h("DELETE", "/api/storage-providers/:id", s.deleteProvider, auth)
	h("POST", "/api/storage-providers/:id/test", s.testProvider, auth)
	h("POST", "/api/storage-providers/:id/set-default", s.setDefaultProvider, auth)

	h("GET", "/api/notifications", s.listNotifications, auth)
	h("POST", "/api/notifications", s.createNotification, auth)
	h("GET", "/api/notifications/:id", s.getNotification, auth)
	h("PUT", "/api/notifications/:id", s.updateNotification, auth)
	h("DELETE", "/api/notifications/:id", s.deleteNotification, auth)
	h("POST", "/api/notifications/:id/test", s.testNotification, auth)

	h("GET", "/api/settings", s.getSettings, auth)
	h("PUT", "/api/settings", s.putSettings, auth)

	h("GET", "/api/config/status", s.configStatus, auth)
	h("POST", "/api/config/plan", s.configPlan, auth)
	h("POST", "/api/config/reload", s.configReload, auth)
	h("GET", "/api/config/export", s.configExport, auth)

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
