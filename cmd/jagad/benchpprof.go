package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// benchPprofEnv names a listen address for Go's profiling endpoints
// (/debug/pprof/...) on a listener of their own, for engine/bench/rss.sh.
// Unset (the default) serves nothing; it is not a flag nor in the API,
// because profiles reveal memory contents and must never be exposed by
// accident. Bench use only, on 127.0.0.1.
const benchPprofEnv = "JAGAD_BENCH_PPROF"

// startBenchPprof serves the profiling endpoints when benchPprofEnv is set.
func startBenchPprof(env func(string) (string, bool), log *slog.Logger) {
	addr, ok := env(benchPprofEnv)
	if !ok || addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Warn("profiling endpoints served (bench only)", "env", benchPprofEnv, "listen", addr)
	go func() {
		if err := srv.ListenAndServe(); err != nil {
			log.Error("profiling endpoints", "err", err)
		}
	}()
}
