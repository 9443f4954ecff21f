package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/dump"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// Binary log archiving (MySQL/MariaDB point-in-time recovery).
//
// For each connection with binlog_archive enabled the daemon runs
// mariadb-binlog --read-from-remote-server --raw --stop-never into a local
// spool directory. A binary log file is complete once the server has moved
// on to the next one (a newer file appears in the spool); each complete
// file goes through the pipeline (compress → sha256 → encrypt → storage)
// to
//
//	binlogs/<connection name>/<file><.gz|.zst><.age>       the file
//	binlogs/<connection name>/<file>.binlog.json           its descriptor (BinlogObject)
//
// and is removed from the spool only after storage confirmed both. The
// spool is a cache: when it is lost, the stream restarts at the file after
// the newest archived one, which the server still has unless it purged it.
// A stream that ends (network, server restart) restarts with backoff (1 s
// doubling to MaxBackoff) at the spool's newest file, which it rewrites
// from its start, while the complete files go on being uploaded; over
// MaxSpoolBytes the stream pauses until uploads catch up. The streaming
// and uploading loops are pgwal.Archiver's, shared with the WAL archiver.

// BinlogPrefix is where archived binary logs live in a storage provider.
const BinlogPrefix = "binlogs"

// BinlogObjectSuffix ends the key of an archived binary log's descriptor.
const BinlogObjectSuffix = ".binlog.json"

// BinlogObject describes one archived binary log file.
type BinlogObject struct {
	Format            string    `json:"format"` // jagad-binlog/1
	ConnectionID      string    `json:"connection_id"`
	ConnectionName    string    `json:"connection_name"`
	File              string    `json:"file"` // the server's name, mysql-bin.000042
	ObjectKey         string    `json:"object_key"`
	Compression       string    `json:"compression"`
	Encrypted         bool      `json:"encrypted"`
	EncryptionKeyID   string    `json:"encryption_key_id,omitempty"`
	SizeBytes         int64     `json:"size_bytes"`
	StoredSizeBytes   int64     `json:"stored_size_bytes"`
	Checksum          string    `json:"checksum"`           // sha256 of the compressed stream
	EncryptedChecksum string    `json:"encrypted_checksum"` // sha256 of the stored bytes
	ArchivedAt        time.Time `json:"archived_at"`
}

// binlogObjectFormat identifies BinlogObject's layout.
const binlogObjectFormat = "jagad-binlog/1"

// spec is what the stored object must be.
func (o BinlogObject) spec() objfmt.Spec {
	return objfmt.Spec{Key: o.ObjectKey, DBType: "mariadb", DatabaseName: o.File, Compression: o.Compression,
		Encrypted: o.Encrypted, KeyID: o.EncryptionKeyID, StoredSize: o.StoredSizeBytes, SizeBytes: o.SizeBytes,
		Checksum: o.Checksum, EncryptedChecksum: o.EncryptedChecksum}
}

// BinlogArchiveOptions tunes the archivers (zero: the defaults).
type BinlogArchiveOptions struct {
	// SpoolDir holds each connection's spool (default
	// $TMPDIR/jagad-binlog-spool).
	SpoolDir string
	// MaxSpoolBytes bounds a connection's spool: at it the stream is
	// paused until uploads catch up (default 4 GiB).
	MaxSpoolBytes int64
	// PollEvery is how often the spool is scanned for complete files
	// (default 2 s).
	PollEvery time.Duration
	// MaxBackoff bounds the wait before a failed stream restarts (default
	// 1 min; the first wait is 1 s, doubling).
	MaxBackoff time.Duration
}

func (o BinlogArchiveOptions) withDefaults() BinlogArchiveOptions {
	if o.SpoolDir == "" {
		o.SpoolDir = filepath.Join(os.TempDir(), "jagad-binlog-spool")
	}
	if o.MaxSpoolBytes <= 0 {
		o.MaxSpoolBytes = 4 << 30
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 2 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	return o
}

// binlogMetrics are the archivers' series, by connection name.
type binlogMetrics struct {
	up, lastArchived, lag *prometheus.GaugeVec
	files, bytes, errors  *prometheus.CounterVec
	prune                 archivePruneMetrics // archive_retention.go
}

func newBinlogMetrics(reg prometheus.Registerer) *binlogMetrics {
	l := []string{"connection"}
	m := &binlogMetrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_binlog_archive_up",
			Help: "1 while the connection's binary log stream (mariadb-binlog) runs, 0 while it waits to restart."}, l),
		lastArchived: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_binlog_last_archived_timestamp_seconds",
			Help: "Unix time the connection's last binary log file was archived (0: none since start)."}, l),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_binlog_archive_lag_seconds",
			Help: "Age of the oldest complete binary log file not yet archived (0: none waiting)."}, l),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_binlog_archived_files_total",
			Help: "Binary log files archived."}, l),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_binlog_archived_bytes_total",
			Help: "Bytes of binary log files archived (before compression)."}, l),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jagad_binlog_archive_errors_total",
			Help: "Binary log stream or upload failures."}, l),
	}
	reg.MustRegister(m.up, m.lastArchived, m.lag, m.files, m.bytes, m.errors)
	m.prune = newArchivePruneMetrics(reg, "binlog", "Archived binary log files")
	return m
}

// binlogArchivers supervises one archiver per enabled connection
// (archive_supervisor.go).
type binlogArchivers struct {
	e       *Engine
	opts    BinlogArchiveOptions
	metrics *binlogMetrics
	runs    *archiveRuns
}

func newBinlogArchivers(e *Engine, o BinlogArchiveOptions, reg prometheus.Registerer) *binlogArchivers {
	return &binlogArchivers{e: e, opts: o.withDefaults(), metrics: newBinlogMetrics(reg), runs: newArchiveRuns()}
}

// sync starts, restarts and stops archivers to match the store.
func (a *binlogArchivers) sync() {
	var conns []state.Connection
	var provs []state.Provider
	err := a.e.store.View(func(tx *state.Tx) error {
		var err error
		if conns, err = state.List[state.Connection](tx); err != nil {
			return err
		}
		provs, err = state.List[state.Provider](tx)
		return err
	})
	if err != nil {
		a.e.log.Error("binlog archive: read connections", "err", err)
		return
	}
	want := map[string]archiveWant{}
	for _, c := range conns {
		if c.BinlogArchive == nil || !c.BinlogArchive.Enabled || (c.DBType != "mysql" && c.DBType != "mariadb") {
			continue
		}
		// Anything the archiver was started with: the connection and the
		// providers (its storage may be the default one).
		key, err := archiveKey(struct {
			C state.ConnectionSpec
			P []state.Provider
		}{c.ConnectionSpec, provs})
		if err != nil {
			a.e.log.Error("binlog archive: spec", "connection", c.Name, "err", err)
			continue
		}
		want[c.ID] = archiveWant{key: key,
			run:     func(ctx context.Context) { a.supervise(ctx, c) },
			stopped: func(bool) { a.metrics.up.DeleteLabelValues(c.Name) }}
	}
	a.runs.sync(a.e, want)
}

// supervise runs the connection's archiver until ctx ends: the streaming
// and uploading loops of pgwal.Archiver (shared with the WAL archiver),
// with mariadb-binlog as the tool, every spool file but the newest as the
// complete ones, and BinlogObject descriptors.
func (a *binlogArchivers) supervise(ctx context.Context, c state.Connection) {
	log := a.e.log.With("connection", c.Name, "component", "binlog-archive")
	m := a.metrics
	target := connTarget(c, "")
	stderr := toolLog{log: log, level: slog.LevelWarn, tool: "mariadb-binlog", secrets: []string{target.Password}}
	arch := pgwal.New(pgwal.Config{
		SpoolDir: filepath.Join(a.opts.SpoolDir, c.ID), SpoolMax: a.opts.MaxSpoolBytes, Log: log,
		Tool: "mariadb-binlog", Poll: a.opts.PollEvery, MaxBackoff: a.opts.MaxBackoff,
		Ready: func(dir string) ([]string, int64) { return a.completeFiles(c, dir) },
		Receive: func(ctx context.Context, dir string) error {
			sink, err := a.e.binlogSinkFor(c)
			if err != nil {
				return err
			}
			first, err := a.firstFile(ctx, sink, dir, target)
			if err != nil {
				return err
			}
			// The newest spool file may be partial: it is fetched again
			// from its start (nothing in the spool comes after it).
			if err := os.Remove(filepath.Join(dir, first)); err != nil && !os.IsNotExist(err) {
				return err
			}
			log.Info("binary log archive started", "from", first)
			m.up.WithLabelValues(c.Name).Set(1)
			defer m.up.WithLabelValues(c.Name).Set(0)
			return dump.StreamBinlogs(ctx, target, dump.BinlogStreamOptions{Dir: dir, First: first}, stderr)
		},
		Upload: func(ctx context.Context, name, path string) (int64, error) {
			sink, err := a.e.binlogSinkFor(c)
			if err != nil {
				return 0, err
			}
			return a.e.archiveBinlog(ctx, c, sink, path)
		},
		Observe: func(ev pgwal.Event) {
			switch ev.Kind {
			case pgwal.EventArchived:
				m.files.WithLabelValues(c.Name).Inc()
				m.bytes.WithLabelValues(c.Name).Add(float64(ev.Bytes))
				m.lastArchived.WithLabelValues(c.Name).Set(float64(a.e.now().Unix()))
			case pgwal.EventError:
				m.errors.WithLabelValues(c.Name).Inc()
			}
		},
	})
	if err := arch.Run(ctx); err != nil {
		m.errors.WithLabelValues(c.Name).Inc()
		log.Error("binary log archive", "err", err)
	}
}

// binlogSink is where one connection's files go.
type binlogSink struct {
	st          storage.Store
	prefix      string // binlogs/<connection name>
	compression string
	kr          *crypt.Keyring
}

// sinkFor resolves the connection's storage provider, compression and key.
func (e *Engine) binlogSinkFor(c state.Connection) (*binlogSink, error) {
	name := ""
	if c.BinlogArchive != nil {
		name = c.BinlogArchive.Storage
	}
	var prov *state.Provider
	var settings state.Settings
	err := e.store.View(func(tx *state.Tx) error {
		ps, err := state.List[state.Provider](tx)
		if err != nil {
			return err
		}
		for i := range ps {
			if (name == "" && ps[i].IsDefault) || (name != "" && ps[i].Name == name) {
				prov = &ps[i]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if settings, err = e.settings(); err != nil {
		return nil, err
	}
	if prov == nil {
		if name == "" {
			return nil, errors.New("binlog_archive: no default storage provider")
		}
		return nil, fmt.Errorf("binlog_archive: storage %q is not defined", name)
	}
	st, err := e.stores.open(*prov)
	if err != nil {
		return nil, err
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return nil, fmt.Errorf("encryption keyring: %w", err)
	}
	prefix, err := storage.SafeKey(BinlogPrefix, c.Name)
	if err != nil {
		return nil, err
	}
	return &binlogSink{st: st, prefix: prefix, compression: settings.Compression(), kr: kr}, nil
}

// firstFile is where a stream starts: the newest file of the spool (the
// one that was being written), else the file after the newest archived
// one, else the server's oldest.
func (a *binlogArchivers) firstFile(ctx context.Context, sink *binlogSink, spool string, t dbclient.Target) (string, error) {
	if files, _ := spoolFiles(spool); len(files) > 0 {
		return files[len(files)-1].name, nil
	}
	archived, err := listBinlogObjects(ctx, sink.st, sink.prefix)
	if err != nil {
		return "", err
	}
	if n := len(archived); n > 0 {
		return nextBinlogName(archived[n-1])
	}
	names, err := serverBinlogs(ctx, t)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", errors.New("the server writes no binary log (enable log_bin)")
	}
	return names[0], nil
}

// serverBinlogs lists the server's binary log files (SHOW BINARY LOGS).
func serverBinlogs(ctx context.Context, t dbclient.Target) ([]string, error) {
	cfg, err := dbclient.MySQLConfig(t, "")
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("SHOW BINARY LOGS: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// nextBinlogName is the file after name: its numeric extension plus one,
// same width (mysql-bin.000041 → mysql-bin.000042).
func nextBinlogName(name string) (string, error) {
	base, num, ok := binlogSeq(name)
	if !ok {
		return "", fmt.Errorf("binary log name %q has no sequence number", name)
	}
	s := strconv.FormatUint(num+1, 10)
	width := len(name) - len(base) - 1
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return base + "." + s, nil
}

// binlogSeq splits mysql-bin.000042 into mysql-bin and 42.
func binlogSeq(name string) (base string, num uint64, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(name[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return name[:i], n, true
}

type spoolFile struct {
	name string
	size int64
	mod  time.Time
}

// spoolFiles lists the binary log files in the spool, in sequence order.
func spoolFiles(dir string) ([]spoolFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []spoolFile
	for _, d := range ents {
		if !d.Type().IsRegular() {
			continue
		}
		if _, _, ok := binlogSeq(d.Name()); !ok {
			continue
		}
		info, err := d.Info()
		if err != nil {
			continue
		}
		out = append(out, spoolFile{name: d.Name(), size: info.Size(), mod: info.ModTime()})
	}
	slices.SortFunc(out, func(x, y spoolFile) int { return compareBinlogNames(x.name, y.name) })
	return out, nil
}

func compareBinlogNames(x, y string) int {
	bx, nx, _ := binlogSeq(x)
	by, ny, _ := binlogSeq(y)
	if bx != by {
		return strings.Compare(bx, by)
	}
	switch {
	case nx < ny:
		return -1
	case nx > ny:
		return 1
	}
	return 0
}

// completeFiles lists the complete files of the spool (all but the
// newest, which the stream is still writing), oldest first, and its size;
// it sets the lag gauge: a complete file is no longer written, so its
// modification time is when it was completed.
func (a *binlogArchivers) completeFiles(c state.Connection, spool string) ([]string, int64) {
	files, err := spoolFiles(spool)
	if err != nil {
		return nil, 0
	}
	lag := 0.0
	if len(files) > 1 {
		lag = time.Since(files[0].mod).Seconds()
	}
	a.metrics.lag.WithLabelValues(c.Name).Set(max(lag, 0))
	var names []string
	var size int64
	for i, f := range files {
		size += f.size
		if i+1 < len(files) {
			names = append(names, f.name)
		}
	}
	return names, size
}

// archiveBinlog stores one file and then its descriptor, and returns the
// file's size.
func (e *Engine) archiveBinlog(ctx context.Context, c state.Connection, sink *binlogSink, path string) (int64, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ext := objfmt.CompressExt(sink.compression)
	obj := BinlogObject{Format: binlogObjectFormat, ConnectionID: c.ID, ConnectionName: c.Name, File: name,
		Compression: sink.compression}
	if sink.kr != nil {
		ext += crypt.Ext
		obj.Encrypted, obj.EncryptionKeyID = true, sink.kr.Active()
	}
	obj.ObjectKey = sink.prefix + "/" + name + ext
	up, err := objfmt.StartUpload(ctx, sink.st, obj.ObjectKey, sink.compression, sink.kr)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(up.Writer(), f); err != nil {
		_, err = up.Abort(err)
		return 0, err
	}
	res, err := up.Finish()
	if err != nil {
		return 0, err
	}
	obj.SizeBytes, obj.StoredSizeBytes = up.RawBytes(), res.N
	obj.Checksum, obj.EncryptedChecksum = up.Checksum(), up.StoredChecksum()
	obj.ArchivedAt = e.now().UTC()
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return 0, err
	}
	if _, err := sink.st.Put(ctx, sink.prefix+"/"+name+BinlogObjectSuffix, strings.NewReader(string(b))); err != nil {
		return 0, fmt.Errorf("store descriptor: %w", err)
	}
	return obj.SizeBytes, nil
}

// listBinlogObjects lists the archived file names under prefix, in
// sequence order.
func listBinlogObjects(ctx context.Context, st storage.Store, prefix string) ([]string, error) {
	infos, err := st.List(ctx, prefix+"/")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var out []string
	for _, in := range infos {
		rest, ok := strings.CutPrefix(in.Key, prefix+"/")
		if !ok {
			continue
		}
		if name, ok := strings.CutSuffix(rest, BinlogObjectSuffix); ok && !strings.Contains(name, "/") {
			out = append(out, name)
		}
	}
	slices.SortFunc(out, compareBinlogNames)
	return out, nil
}

// readBinlogObject reads the descriptor of an archived file.
func readBinlogObject(ctx context.Context, st storage.Store, prefix, name string) (BinlogObject, error) {
	var o BinlogObject
	rc, err := st.Get(ctx, prefix+"/"+name+BinlogObjectSuffix)
	if err != nil {
		return o, err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&o); err != nil {
		return o, fmt.Errorf("descriptor of %s: %w", name, err)
	}
	if o.Format != binlogObjectFormat || o.File != name || !strings.HasPrefix(o.ObjectKey, prefix+"/") {
		return o, fmt.Errorf("descriptor of %s: not a %s descriptor of this file", name, binlogObjectFormat)
	}
	return o, nil
}
