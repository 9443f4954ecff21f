package api

import (
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/state/fault"
)

// Cluster mode (Deps.ClusterGroup set: the daemon is a member of a group
// sharing one jagad.yaml, engine/cluster). Every member reads its
// configuration records from the same file; a record made or changed
// through one member's API would live in that member's store alone (the
// others would not run, list or restore with it). So the API refuses every
// write of a configuration record with 409, naming jagad.yaml as the place
// to change it; operational actions (backups, verify, restore, download,
// copies, tests, discovery, tokens, login, a reload of the file) stay
// allowed. The lead's decision for issue 18: refuse, not write through etcd.

// clusterRefused lists the routes refused in cluster mode: method and path
// as in routeTable. TestClusterModeClassifiesEveryWrite fails on a write
// route in neither this table nor clusterAllowed.
var clusterRefused = map[string]string{
	"POST /api/connections":                       "connections",
	"PUT /api/connections/:id":                    "connections",
	"DELETE /api/connections/:id":                 "connections",
	"PUT /api/connections/:id/:dbid":              "connections", // database selection
	"POST /api/schedules":                         "schedules",
	"PUT /api/schedules/:id":                      "schedules", // also the enabled override
	"DELETE /api/schedules/:id":                   "schedules",
	"POST /api/storage-providers":                 "storage",
	"PUT /api/storage-providers/:id":              "storage",
	"DELETE /api/storage-providers/:id":           "storage",
	"POST /api/storage-providers/:id/set-default": "storage",
	"POST /api/notifications":                     "notifications",
	"PUT /api/notifications/:id":                  "notifications",
	"DELETE /api/notifications/:id":               "notifications",
	"PUT /api/settings":                           "settings",
}

// clusterAllowed lists the write routes that stay allowed in cluster mode:
// operational actions, not configuration.
var clusterAllowed = map[string]bool{
	"POST /api/auth/login": true, "POST /api/auth/logout": true, "PUT /api/auth/password": true,
	"POST /api/connections/:id/test": true, "POST /api/connections/:id/discover": true,
	"POST /api/backups": true, "DELETE /api/backups/:id": true, "POST /api/backups/:id/verify": true,
	"POST /api/backups/:id/restore": true, "POST /api/backups/:id/copies": true,
	"POST /api/schedules/:id/run": true, "POST /api/storage-providers/:id/test": true,
	"POST /api/notifications/:id/test": true, "POST /api/connections/:id/archive/verify": true,
	"POST /api/config/plan": true, "POST /api/config/reload": true, // plans, or reloads the shared file
	"POST /api/tokens": true, "DELETE /api/tokens/:id": true,
}

// clusterGuard returns h, or in cluster mode for a refused route a handler
// answering 409. It runs after authentication (wrap), so an anonymous
// caller still gets 401.
func (s *server) clusterGuard(method, path string, h handlerFunc) handlerFunc {
	if s.clusterGroup == "" {
		return h
	}
	kind, refused := clusterRefused[method+" "+path]
	if !refused {
		return h
	}
	msg := fmt.Sprintf("cluster mode (group %q): %s are configured in jagad.yaml, which every member of the group reads; "+
		"change them there and reload (POST /api/config/reload, SIGHUP, or wait for the file watch) — "+
		"the API does not create, change or delete configuration records in cluster mode", s.clusterGroup, kind)
	return func(*http.Request, httprouter.Params) (any, error) {
		return nil, fault.Conflict(msg)
	}
}
