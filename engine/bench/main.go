// Command bench times one Jagad backup through the engine package, as the
// daemon runs it: a real store, a real engine, the real dump tool and
// storage. It prints one line of key=value results (duration, sizes, peak
// RSS and CPU-seconds of this process, the zstd encoder it was built with:
// libzstd with cgo, pure Go with CGO_ENABLED=0) for engine/bench/run.sh to
// tabulate.
//
// Secrets come from the environment, never from flags: BENCH_DB_PASSWORD
// (the database password, may be empty) and BENCH_S3_SECRET.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is one benchmark run.
type config struct {
	dbType, host, user, database string
	port                         int
	compression                  string
	encrypt                      bool
	provider                     state.ProviderSpec
	copies                       []state.ProviderSpec // copies_to destinations (one pass, N uploads)
	createBucket                 bool
	cpuProfile                   string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dbType, "db-type", "postgresql", "postgresql | mysql | mariadb")
	fs.StringVar(&c.host, "host", "127.0.0.1", "database host")
	fs.IntVar(&c.port, "port", 0, "database port (0: the type's default)")
	fs.StringVar(&c.user, "user", "postgres", "database user (password: $BENCH_DB_PASSWORD)")
	fs.StringVar(&c.database, "database", "bench_mixed", "database to back up")
	fs.StringVar(&c.compression, "compression", "zstd", "zstd | gzip | none")
	fs.BoolVar(&c.encrypt, "encrypt", false, "encrypt with a fresh key")
	target := fs.String("target", "local", "local | s3")
	dir := fs.String("dir", "", "local: backup directory (required)")
	endpoint := fs.String("s3-endpoint", "", "s3: endpoint URL")
	bucket := fs.String("s3-bucket", "jagad-bench", "s3: bucket")
	access := fs.String("s3-access-key", "", "s3: access key (secret: $BENCH_S3_SECRET)")
	fs.BoolVar(&c.createBucket, "s3-create-bucket", false, "s3: create the bucket first")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the backup to this file")
	copyLocal := fs.Int("copy-local", 0, "also copy to this many local destinations under -dir (copies_to)")
	copyS3 := fs.Bool("copy-s3", false, "with -target local: also copy to the -s3-* bucket (copies_to)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	s3 := state.ProviderSpec{Name: "bench-s3", ProviderType: "s3-compat", Endpoint: *endpoint,
		Region: "us-east-1", Bucket: *bucket, AccessKey: *access, SecretKey: state.Secret(os.Getenv("BENCH_S3_SECRET")),
		PathStyle: true}
	for i := range *copyLocal {
		if *dir == "" {
			return c, errors.New("-dir is required for -copy-local")
		}
		d := filepath.Join(*dir, fmt.Sprintf("copy%d", i+1))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return c, err
		}
		c.copies = append(c.copies, state.ProviderSpec{Name: fmt.Sprintf("bench-copy%d", i+1), ProviderType: "local", Path: d})
	}
	if *copyS3 {
		if *target == "s3" {
			return c, errors.New("-copy-s3 needs -target local")
		}
		c.copies = append(c.copies, s3)
	}
	switch *target {
	case "local":
		if *dir == "" {
			return c, errors.New("-dir is required for -target local")
		}
		c.provider = state.ProviderSpec{Name: "bench-local", ProviderType: "local", Path: *dir, IsDefault: true}
	case "s3":
		c.provider = s3
		c.provider.IsDefault = true
	default:
		return c, fmt.Errorf("unknown -target %q", *target)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	res, err := bench(c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "seconds=%.3f job_ms=%d raw_bytes=%d stored_bytes=%d peak_rss_kib=%d alloc_mib=%d cpu_seconds=%.3f zstd_encoder=%q\n",
		res.elapsed.Seconds(), res.backup.DurationMs, res.backup.SizeBytes, res.backup.StoredSizeBytes, res.peakKiB, res.allocMiB,
		res.cpu.Seconds(), objfmt.ZstdEncoder)
	return 0
}

type result struct {
	elapsed  time.Duration
	backup   state.Backup
	peakKiB  int64
	allocMiB uint64        // heap allocated during the backup
	cpu      time.Duration // this process's user+system CPU during the backup (not the dump tool's)
}

// bench sets up a store and an engine in a temp data dir, runs one backup
// and reports it.
func bench(c config, stderr io.Writer) (result, error) {
	dataDir, err := os.MkdirTemp("", "jagad-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dataDir)
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	store, err := state.Open(state.Options{Dir: dataDir, MasterKey: master})
	if err != nil {
		return result{}, err
	}
	defer store.Close()
	if c.createBucket {
		for _, p := range append([]state.ProviderSpec{c.provider}, c.copies...) {
			if p.ProviderType != "local" {
				if err := createBucket(p); err != nil {
					return result{}, err
				}
			}
		}
	}
	conn, db, sched, err := seed(store, c)
	if err != nil {
		return result{}, err
	}
	keys, err := keySource(c.encrypt)
	if err != nil {
		return result{}, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := engine.New(engine.Options{Store: store, Logger: log, Keys: keys, Version: "bench"})
	if err != nil {
		return result{}, err
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		return result{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_ = eng.Shutdown(sctx)
	}()

	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return result{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	// Wait on the store's change feed, not a 10 ms poll: polling cost ~8% of
	// the CPU-seconds this process reports for a 72 MB backup (pprof).
	changes, stop := store.Subscribe(state.KindBackup)
	defer stop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := selfCPU()
	start := time.Now()
	enc := c.encrypt
	var b state.Backup
	if sched == nil {
		var q state.Backup
		if q, err = eng.StartBackup(ctx, engine.BackupRequest{ConnectionID: conn.ID, DatabaseID: db.ID, Encrypt: &enc}); err != nil {
			return result{}, err
		}
		b, err = waitDone(store, changes, q.ID)
	} else {
		// Copies come with a schedule: run it once (its cron never fires).
		if err = eng.RunSchedule(ctx, sched.ID); err != nil {
			return result{}, err
		}
		b, err = waitScheduled(store, changes, sched.ID)
	}
	elapsed := time.Since(start)
	if err != nil {
		return result{}, err
	}
	if b.Status != state.StatusSuccess {
		return result{}, fmt.Errorf("backup %s: %s\n%s", b.ID, b.Status, b.LogOutput)
	}
	for _, r := range b.Copies() {
		if r.Status != state.ReplicaSuccess {
			return result{}, fmt.Errorf("backup %s: copy on %s is %s: %s", b.ID, r.ProviderName, r.Status, r.Error)
		}
	}
	runtime.ReadMemStats(&after)
	return result{elapsed: elapsed, backup: b, peakKiB: peakRSSKiB(), allocMiB: (after.TotalAlloc - before.TotalAlloc) >> 20,
		cpu: selfCPU() - cpu0}, nil
}

// waitDone reads the backup after each change of a backup record (and at
// least every second) until it finished.
func waitDone(store *state.Store, changes <-chan struct{}, id string) (state.Backup, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var b state.Backup
		err := store.View(func(tx *state.Tx) (err error) { b, err = state.Get[state.Backup](tx, id); return err })
		if err != nil {
			return b, err
		}
		if b.Status == state.StatusSuccess || b.Status == state.StatusFailed {
			return b, nil
		}
		select {
		case <-changes:
		case <-tick.C:
		}
	}
}

func keySource(encrypt bool) (engine.KeySource, error) {
	if !encrypt {
		return nil, nil
	}
	key, err := crypt.GenerateKey()
	if err != nil {
		return nil, err
	}
	kr, err := crypt.NewKeyring("bench", map[string]string{"bench": key}, "")
	if err != nil {
		return nil, err
	}
	return func() (*crypt.Keyring, error) { return kr, nil }, nil
}

// waitScheduled waits for the schedule's backup to appear, then to finish.
func waitScheduled(store *state.Store, changes <-chan struct{}, scheduleID string) (state.Backup, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var list []state.Backup
		err := store.View(func(tx *state.Tx) (err error) {
			list, err = tx.ListBackups(state.BackupQuery{ScheduleID: scheduleID})
			return err
		})
		if err != nil {
			return state.Backup{}, err
		}
		if len(list) > 0 {
			return waitDone(store, changes, list[0].ID)
		}
		select {
		case <-changes:
		case <-tick.C:
		}
	}
}

// seed writes the provider, connection, database and settings records, and
// with copies a schedule that copies to them (nil without).
func seed(store *state.Store, c config) (state.Connection, state.Database, *state.Schedule, error) {
	now := time.Now().UTC()
	p := state.Provider{Meta: meta(state.KindProvider, now), ProviderSpec: c.provider}
	conn := state.Connection{Meta: meta(state.KindConnection, now), ConnectionSpec: state.ConnectionSpec{
		Name: "bench", DBType: c.dbType, Host: c.host, Port: c.port, Username: c.user,
		Password: state.Secret(os.Getenv("BENCH_DB_PASSWORD")), SSLMode: "disable"}}
	var sched *state.Schedule
	db := state.Database{ID: state.DerivedID(state.KindDatabase, conn.ID+"/"+c.database), ConnectionID: conn.ID,
		DBName: c.database, IsSelected: true, ManagedBy: state.ManagedByAPI, CreatedAt: now}
	err := store.Update(func(tx *state.Tx) error {
		if err := state.Put(tx, p); err != nil {
			return err
		}
		if err := state.Put(tx, conn); err != nil {
			return err
		}
		if err := state.Put(tx, db); err != nil {
			return err
		}
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.Set(state.SettingCompression, c.compression)
		if err := tx.PutSettings(s); err != nil {
			return err
		}
		if len(c.copies) == 0 {
			return nil
		}
		sched = &state.Schedule{Meta: meta(state.KindSchedule, now), ScheduleSpec: state.ScheduleSpec{Name: "bench",
			ConnectionID: conn.ID, DatabaseID: db.ID, BackupType: "full", CronExpr: "0 0 1 1 *", StorageProviderID: p.ID,
			EncryptionEnabled: c.encrypt, RetentionFull: 100, Enabled: true}}
		for _, cp := range c.copies {
			rec := state.Provider{Meta: meta(state.KindProvider, now), ProviderSpec: cp}
			if err := state.Put(tx, rec); err != nil {
				return err
			}
			sched.CopiesTo = append(sched.CopiesTo, state.CopyTarget{StorageProviderID: rec.ID})
		}
		return state.Put(tx, *sched)
	})
	if err != nil {
		return conn, db, nil, fmt.Errorf("seed store: %w", err)
	}
	return conn, db, sched, nil
}

func meta(kind state.Kind, now time.Time) state.Meta {
	return state.Meta{ID: state.NewID(kind), ManagedBy: state.ManagedByAPI, CreatedAt: now, UpdatedAt: now}
}
