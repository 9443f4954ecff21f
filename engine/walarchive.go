package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Continuous WAL archiving: every PostgreSQL connection with wal_archive
// enabled gets an archiver (engine/pgwal) that keeps pg_receivewal running
// on the replication slot jagad_<connection> (created by Jagad, dropped
// when wal_archive is turned off or the connection removed; kept across
// daemon restarts so no WAL is lost), spooling into
// <spool dir>/<connection id>/ and uploading each completed segment through
// the pipeline (compress → hash → encrypt → storage) to
//
//	wal/<connection name>/<segment file name><.compression ext><.jgd>
//
// with a manifest beside it (backup_type "wal"). The local copy is removed
// only after the object's size is confirmed in storage and its manifest is
// written.

// walSpec is what an archiver was started from; a change restarts it.
type walSpec struct {
	conn     state.ConnectionSpec
	provider state.ProviderSpec
}

// walArchivers are the running archivers (archive_supervisor.go) and
// their metrics.
type walArchivers struct {
	runs *archiveRuns
	m    *walMetrics
}

type walMetrics struct {
	segments, bytes, errors *prometheus.CounterVec
	last, lagBytes, lagSecs *prometheus.GaugeVec
	spool                   *prometheus.GaugeVec
	prune                   archivePruneMetrics // archive_retention.go
}

func newWalMetrics(reg prometheus.Registerer) *walMetrics {
	lbl := []string{"connection"}
	m := &walMetrics{
		segments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_wal_archived_segments_total",
			Help: "WAL files (segments and timeline history files) archived to storage."}, lbl),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_wal_archived_bytes_total",
			Help: "Bytes of WAL archived (before compression)."}, lbl),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_wal_archive_errors_total",
			Help: "WAL archiving failures: pg_receivewal stops and failed uploads (each retried)."}, lbl),
		last: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_wal_last_archived_timestamp_seconds",
			Help: "Unix time of the last WAL file archived (0: none since the daemon started)."}, lbl),
		lagBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_wal_archive_lag_bytes",
			Help: "Bytes of WAL written by the server and not yet archived."}, lbl),
		lagSecs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_wal_archive_lag_seconds",
			Help: "While at least one full segment is waiting: seconds since the last WAL file was archived (or the archiver started); else 0."}, lbl),
		spool: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_wal_spool_bytes",
			Help: "Bytes in the local WAL spool (segments received and not yet uploaded, and the one being received)."}, lbl),
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(m.segments, m.bytes, m.errors, m.last, m.lagBytes, m.lagSecs, m.spool)
	m.prune = newArchivePruneMetrics(reg, "wal", "Archived WAL files")
	return m
}

// slotName is the replication slot of a connection: jagad_<name>, lower
// case, other characters as '_', at most 63 bytes.
func slotName(conn string) string {
	var b strings.Builder
	b.WriteString("jagad_")
	for _, r := range strings.ToLower(conn) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	return s[:min(len(s), 63)]
}

// spoolDir is where a connection's WAL is received before upload.
func (e *Engine) spoolDir(connID string) string {
	base := e.opts.SpoolDir
	if base == "" {
		base = filepath.Join(os.TempDir(), "jagad-wal")
	}
	return filepath.Join(base, connID)
}

// syncArchivers starts, restarts and stops archivers to match the
// connections' wal_archive settings.
func (e *Engine) syncArchivers() {
	want := map[string]walSpec{}
	names := map[string]string{}
	err := e.store.View(func(tx *state.Tx) error {
		conns, err := state.List[state.Connection](tx)
		if err != nil {
			return err
		}
		provs, err := state.List[state.Provider](tx)
		if err != nil {
			return err
		}
		for _, c := range conns {
			w := c.WalArchive
			if w == nil || !w.Enabled || c.DBType != dbclient.PostgreSQL {
				continue
			}
			for _, p := range provs {
				if p.Name == w.Storage {
					want[c.ID] = walSpec{conn: c.ConnectionSpec, provider: p.ProviderSpec}
					names[c.ID] = c.Name
				}
			}
			if _, ok := want[c.ID]; !ok {
				e.log.Error("wal archive: storage not found", "connection", c.Name, "storage", w.Storage)
			}
		}
		return nil
	})
	if err != nil {
		e.log.Error("wal archive: read connections", "err", err)
		return
	}
	runs := map[string]archiveWant{}
	for id, spec := range want {
		key, err := archiveKey(struct {
			C state.ConnectionSpec
			P state.ProviderSpec
		}{spec.conn, spec.provider})
		if err != nil {
			e.log.Error("wal archive: spec", "connection", names[id], "err", err)
			continue
		}
		runs[id] = archiveWant{key: key,
			run: func(ctx context.Context) { e.runArchiver(ctx, id, spec) },
			stopped: func(removed bool) {
				if removed {
					e.dropArchive(spec)
				}
			}}
	}
	e.wal.runs.sync(e, runs)
}

// dropArchive drops the slot of an archiver that was turned off and
// removes its spool.
func (e *Engine) dropArchive(s walSpec) {
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	slot := slotName(s.conn.Name)
	t := walTarget(s.conn)
	settings, _ := e.settings()
	if err := dump.DropSlot(ctx, t, e.tools(settings), slot, nil); err != nil {
		e.log.Warn("wal archive: drop replication slot", "connection", s.conn.Name, "slot", slot, "err", err)
	} else {
		e.log.Info("wal archive stopped; replication slot dropped", "connection", s.conn.Name, "slot", slot)
	}
}

func walTarget(c state.ConnectionSpec) dbclient.Target {
	return dbclient.Target{DBType: c.DBType, Host: c.Host, Port: c.Port, User: c.Username,
		Password: c.Password.Reveal(), SSLMode: c.SSLMode, Database: "postgres"}
}

// runArchiver creates the slot (retrying) and runs the archiver until ctx ends.
func (e *Engine) runArchiver(ctx context.Context, connID string, s walSpec) {
	name := s.conn.Name
	log := e.log.With("connection", name, "component", "wal-archive")
	slot := slotName(name)
	t := walTarget(s.conn)
	settings, err := e.settings()
	if err != nil {
		log.Error("wal archive: settings", "err", err)
		return
	}
	tools := e.tools(settings)
	stderr := toolLog{log: log, level: slog.LevelInfo, tool: "pg_receivewal", secrets: []string{t.Password}}
	superviseArchive(ctx, time.Minute, time.Hour, func(ctx context.Context) error {
		return dump.CreateSlot(ctx, t, tools, slot, stderr)
	}, func(err error, _ time.Duration) {
		e.wal.m.errors.WithLabelValues(name).Inc()
		log.Error("wal archive: create replication slot", "slot", slot, "err", err)
	})
	if ctx.Err() != nil {
		return
	}
	st, err := e.stores.open(state.Provider{ProviderSpec: s.provider})
	if err != nil {
		log.Error("wal archive: storage", "err", err)
		return
	}
	st2 := st
	maxSpool := s.conn.WalArchive.SpoolMaxBytes
	if maxSpool <= 0 {
		maxSpool = state.DefaultSpoolMaxBytes
	}
	lag := &walLag{started: e.now()}
	m := e.wal.m
	arch := pgwal.New(pgwal.Config{
		SpoolDir: e.spoolDir(connID), SpoolMax: maxSpool, Log: log,
		Receive: func(ctx context.Context, dir string) error {
			return dump.ReceiveWAL(ctx, t, tools, slot, dir, stderr)
		},
		Upload: func(ctx context.Context, file, path string) (int64, error) {
			return e.uploadWAL(ctx, st2, connID, name, file, path)
		},
		Observe: func(ev pgwal.Event) {
			switch ev.Kind {
			case pgwal.EventArchived:
				m.segments.WithLabelValues(name).Inc()
				m.bytes.WithLabelValues(name).Add(float64(ev.Bytes))
				m.last.WithLabelValues(name).Set(float64(e.now().Unix()))
				lag.archived(ev.Name, e.now())
			case pgwal.EventError:
				m.errors.WithLabelValues(name).Inc()
			case pgwal.EventSpool:
				m.spool.WithLabelValues(name).Set(float64(ev.SpoolBytes))
			}
		},
	})
	log.Info("wal archive started", "slot", slot, "spool", e.spoolDir(connID), "storage", s.provider.Name)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.watchLag(ctx, t, slot, name, lag)
	}()
	_ = arch.Run(ctx)
	wg.Wait()
}

// walLag tracks the end of the last archived segment.
type walLag struct {
	mu      sync.Mutex
	end     uint64
	at      time.Time
	started time.Time
}

func (l *walLag) archived(file string, now time.Time) {
	seg, err := pgwal.ParseSegment(file)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if end := seg.EndLSN(); end > l.end {
		l.end = end
	}
	l.at = now
}

// watchLag updates the lag gauges every 5 s.
func (e *Engine) watchLag(ctx context.Context, t dbclient.Target, slot, name string, l *walLag) {
	tick := time.NewTicker(walLagEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pos, err := pgwal.ServerPositions(qctx, t, slot)
		cancel()
		if err != nil {
			continue // the archiver's own errors say why
		}
		l.mu.Lock()
		done, since := l.end, l.at
		if since.IsZero() {
			since = l.started
		}
		l.mu.Unlock()
		if done == 0 {
			done = pos.SlotRestart
		}
		var lagBytes uint64
		if pos.Current > done {
			lagBytes = pos.Current - done
		}
		e.wal.m.lagBytes.WithLabelValues(name).Set(float64(lagBytes))
		secs := 0.0
		if lagBytes >= pgwal.SegmentSize {
			secs = e.now().Sub(since).Seconds()
		}
		e.wal.m.lagSecs.WithLabelValues(name).Set(secs)
	}
}

// walLagEvery is how often the archive lag is measured.
const walLagEvery = 5 * time.Second

// walPrefix is the storage prefix of a connection's WAL archive.
func walPrefix(connName string) string { return "wal/" + connName + "/" }

// uploadWAL stores one WAL file through the pipeline with its manifest
// and returns its raw size once the stored size is confirmed.
func (e *Engine) uploadWAL(ctx context.Context, st storage.Store, connID, connName, file, path string) (int64, error) {
	settings, err := e.settings()
	if err != nil {
		return 0, err
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return 0, fmt.Errorf("encryption keyring: %w", err)
	}
	b := state.Backup{ID: "wal-" + file, ConnectionID: connID, ConnectionName: connName, DatabaseName: file,
		DBType: dbclient.PostgreSQL, BackupType: "wal", Compression: settings.Compression(), Status: state.StatusSuccess}
	ext := objfmt.CompressExt(b.Compression)
	if kr != nil {
		ext += crypt.Ext
		b.EncryptionAlgo, b.EncryptionKeyID = crypt.Algo, kr.Active()
	}
	key, err := storage.SafeKey("wal", connName, file+ext)
	if err != nil {
		return 0, err
	}
	b.StoragePath = key
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	up, err := objfmt.StartUpload(ctx, st, key, b.Compression, kr)
	if err != nil {
		return 0, err
	}
	if _, err := f.WriteTo(up.Writer()); err != nil {
		_, _ = up.Abort(err)
		return 0, fmt.Errorf("upload %s: %w", file, err)
	}
	put, err := up.Finish()
	if err != nil {
		return 0, fmt.Errorf("upload %s: %w", file, err)
	}
	info, err := st.Stat(ctx, key)
	if err != nil || info.Size != put.N {
		return 0, fmt.Errorf("stored %s: size %d, expected %d: %v", key, info.Size, put.N, err)
	}
	b.SizeBytes, b.StoredSizeBytes = up.RawBytes(), put.N
	b.Checksum, b.EncryptedChecksum = up.Checksum(), up.StoredChecksum()
	now := e.now().UTC()
	b.StartedAt, b.CompletedAt = &now, &now
	if err := objfmt.WriteManifest(ctx, st, objfmt.ManifestOf(b, e.opts.Version, now)); err != nil {
		return 0, err
	}
	return b.SizeBytes, nil
}
