package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
)

// shutdownGrace is how long running jobs may take to finish on shutdown.
const shutdownGrace = 30 * time.Second

const serveLong = `Runs the daemon: the REST API, the scheduler, and (with --config) the
reconciler that follows jagad.yaml. jagad with no command runs it too.

Secrets come from the environment only (JAGAD_ADMIN_PASS, JAGAD_MASTER_KEY,
JAGAD_ENCRYPTION_KEY, JAGAD_METRICS_TOKEN), never from flags. Every flag
has an environment variable, named in its help; flags win over the
environment. SIGHUP reloads the config file; SIGINT or SIGTERM shut down in
order, a second one at once.

Exit status: 0 stopped by a signal, 1 failure, 2 usage error.`

// serveCommand is `jagad serve` (alias daemon; also jagad with no command).
func (a *app) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "serve [flags]",
		Aliases: []string{"daemon"},
		Short:   "Run the daemon (the default command)",
		Long:    serveLong,
		GroupID: groupServer,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected arguments: %s", strings.Join(args, " "))
			}
			return nil
		},
	}
	flags := addServeFlags(cmd.Flags(), a.env)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := flags.config(a.env)
		if err != nil {
			return err
		}
		c.hooks = a.hooks
		log, err := newLogger(a.stdout, c.logLevel, c.logFormat)
		if err != nil {
			return usageError{err}
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, c, log, a.env); err != nil {
			log.Error("jagad stopped", "err", err)
			return err
		}
		return nil
	}
	return cmd
}

// daemon holds the parts of a running jagad serve.
type daemon struct {
	log   *slog.Logger
	store *state.Store
	rec   *reconcile.Reconciler
	eng   *engine.Engine
	keys  *keySource
	ready atomic.Bool
	// httpDone is closed when the HTTP server shuts down: it ends /api/events streams.
	httpDone chan struct{}

	registry  *prometheus.Registry
	sweepStop context.CancelFunc
	sweepDone chan struct{}
	watchCtx  context.Context
	watchStop context.CancelFunc
	watchDone chan struct{}
	// member is this daemon's membership in a cluster group (cluster.go); nil: alone.
	member     groupMember
	restart    *clusterSectionWatch // the cluster: section's changes awaiting a restart
	followStop context.CancelFunc
	followDone chan struct{}
}

// serve runs the daemon until ctx ends. It binds the listener before
// anything slow, answers /livez and /readyz (503) while starting, and shuts
// down in order: config watch, HTTP, scheduler and jobs, store.
func serve(ctx context.Context, c *serveConfig, log *slog.Logger, env func(string) (string, bool)) error {
	// SIGHUP is caught from the first moment: its default action kills the
	// process, and `systemctl reload` may come while the daemon starts. One
	// that arrives before ready is kept and reloads once running.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	var handler atomic.Pointer[http.Handler]
	starting := startingHandler()
	handler.Store(&starting)
	hs := newHTTPSide(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }),
		c.hooks.httpShutdown)
	srv := hs.srv
	srvErr := make(chan error, 1)
	go func() {
		var err error
		if c.tlsCert != "" {
			err = srv.ServeTLS(ln, c.tlsCert, c.tlsKey)
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			srvErr <- err
		}
		close(srvErr)
	}()
	log.Info("starting jagad", "version", version, "commit", commit, "listen", ln.Addr().String(), "data_dir", c.dataDir, "config", c.configPath)
	if c.hooks.listening != nil {
		c.hooks.listening(ln.Addr())
	}

	d, err := start(ctx, c, log, env)
	if err != nil {
		hs.stop(log)
		return err
	}
	d.httpDone = make(chan struct{})
	srv.RegisterOnShutdown(func() { close(d.httpDone) })
	h := d.handler(c)
	if c.hooks.handler != nil {
		h = c.hooks.handler(d, h)
	}
	handler.Store(&h)
	d.ready.Store(true)
	log.Info("jagad ready", "listen", ln.Addr().String())
	startBenchPprof(env, log)
	if c.hooks.ready != nil {
		c.hooks.ready(d)
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			if d.rec != nil {
				log.Info("SIGHUP: reloading config")
				d.rec.Trigger("sighup")
			}
		case err := <-srvErr:
			runErr = fmt.Errorf("http server: %w", err)
			break loop
		}
	}
	log.Info("shutting down")
	d.ready.Store(false)
	// A second signal cuts the shutdown short.
	force := make(chan os.Signal, 1)
	signal.Notify(force, syscall.SIGINT, syscall.SIGTERM)
	stopped := make(chan struct{})
	defer signal.Stop(force)
	go func() {
		select {
		case <-force:
			log.Error("second signal: exiting now")
			os.Exit(1)
		case <-stopped:
		}
	}()
	d.stop(hs)
	close(stopped)
	return runErr
}

// start opens the store and starts the reconciler and the engine.
func start(ctx context.Context, c *serveConfig, log *slog.Logger, env func(string) (string, bool)) (*daemon, error) {
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	key, generated, err := state.LoadOrCreateMasterKey(c.dataDir, c.masterKey)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if generated {
		log.Warn("JAGAD_MASTER_KEY is not set: generated a master key into the data dir; back it up with the data dir, or set JAGAD_MASTER_KEY",
			"path", filepath.Join(c.dataDir, "master.key"))
	}
	store, err := state.Open(state.Options{Dir: c.dataDir, MasterKey: key, Logger: log, MinFreeBytes: c.minFreeBytes})
	if err != nil {
		return nil, err
	}
	d := &daemon{log: log, store: store, keys: newKeySource(c.encryptionKey)}
	fail := func(err error) (*daemon, error) {
		store.Close()
		return nil, err
	}
	if err := api.SeedAdmin(store, api.AdminSeed{User: c.adminUser, Pass: c.adminPass,
		PasswordFile: filepath.Join(c.dataDir, api.AdminPasswordFile)}, log); err != nil {
		return fail(fmt.Errorf("seed admin: %w", err))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_build_info", Help: "Jagad build: version and commit."}, []string{"version", "commit"})
	buildInfo.WithLabelValues(version, commit).Set(1)
	reg.MustRegister(buildInfo)
	if err := store.RegisterSpaceMetrics(reg); err != nil {
		return fail(err)
	}
	d.registry = reg

	clusterWatch := &clusterSectionWatch{log: log, env: env}
	d.restart = clusterWatch
	member, err := joinCluster(c, log, reg, store, env, clusterWatch)
	if err != nil {
		return fail(err)
	}
	if member != nil {
		d.member = member
		fail = func(err error) (*daemon, error) {
			member.Close()
			store.Close()
			return nil, err
		}
	}
	out := outboundFor(c, log, reg)
	eo := engine.Options{Store: store, Logger: log, Registerer: reg, Keys: d.keys.keyring, Version: version,
		Notifier: out.notifier, Storage: out.storage, SpoolDir: filepath.Join(c.dataDir, "wal-spool")}
	if member != nil {
		eo.Gate = sharedGate{member: member, store: store}
	}
	eng, err := engine.New(eo)
	if err != nil {
		return fail(err)
	}
	d.eng = eng
	if c.configPath != "" {
		rec, err := reconcile.New(reconcile.Options{
			Path: c.configPath, Store: store, Logger: log, Env: env,
			Metrics:   reconcile.NewMetrics(reg),
			OnApplied: func(f *config.File) { d.keys.setFile(f); clusterWatch.check(f) },
			OnFailed:  eng.NotifyConfigFailed,
			// JAGAD_ENCRYPTION_KEY is a key as much as one in the file.
			ProcessKey: c.encryptionKey != "",
		})
		if err != nil {
			return fail(err)
		}
		d.rec = rec
		rec.Reload(ctx, "start", false)
		d.watchCtx, d.watchStop = context.WithCancel(context.Background())
		d.watchDone = make(chan struct{})
		go func() {
			defer close(d.watchDone)
			if err := rec.Run(d.watchCtx, reconcile.WatchOptions{}); err != nil {
				log.Error("config watch stopped", "err", err)
			}
		}()
	} else {
		log.Info("no config file: API-only mode")
		d.keys.prepare() // JAGAD_ENCRYPTION_KEY, if a passphrase (the reconciler does it with a file)
	}
	if err := eng.Start(ctx); err != nil {
		d.stopWatch()
		return fail(fmt.Errorf("start engine: %w", err))
	}
	d.startSweep(out.storage)
	d.startFollow()
	return d, nil
}

func (d *daemon) stopWatch() {
	if d.watchStop != nil {
		d.watchStop()
		<-d.watchDone
	}
}

// stop shuts the daemon down in order. The HTTP handlers have returned
// before the engine and the store close.
func (d *daemon) stop(hs *httpSide) {
	d.stopWatch()
	hs.stop(d.log)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	d.stopSweep()
	d.stopFollow()
	if err := d.eng.Shutdown(ctx); err != nil {
		d.log.Warn("engine shutdown", "err", err)
	}
	d.leaveCluster()
	if err := d.store.Close(); err != nil {
		d.log.Error("close store", "err", err)
	}
	d.log.Info("jagad stopped")
}

// handler builds the API once the parts are up.
func (d *daemon) handler(c *serveConfig) http.Handler {
	deps := api.Deps{
		Store: d.store, Engine: d.eng, Logger: d.log, Version: version,
		Metrics:      promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{}),
		MetricsToken: func() string { return d.metricsToken(c) },
		Ready: func() error {
			if !d.ready.Load() {
				return errors.New("starting or shutting down")
			}
			if d.member != nil { // cluster mode: not ready out of the group
				if err := d.member.Ready(); err != nil {
					return err
				}
			}
			if d.rec != nil { // API-only mode is ready without a file
				if err := d.rec.Ready(); err != nil {
					return err
				}
			}
			return d.store.Ping()
		},
		Health: d.health,
		// The admin account was seeded in start (AdminUser/AdminPass stay
		// empty here, so nothing is seeded or warned about twice).
		TLS: c.tlsCert != "", TrustedProxies: c.trustedProxies, TrustedOrigins: c.trustedOrigins,
		SessionIdleTimeout: c.sessionIdle,
		Progress:           d.eng, Done: d.httpDone, UI: true,
	}
	if d.member != nil { // cluster mode: configuration writes answer 409 (api/clustermode.go)
		deps.ClusterGroup = d.member.Group()
	}
	if d.rec != nil {
		deps.Config = d.rec
		if d.restart != nil {
			deps.Restart = d.restart
		}
	}
	return api.New(deps)
}

// startingHandler answers while the store and engine start.
func startingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"jagad is starting"}` + "\n"))
	})
	return mux
}
