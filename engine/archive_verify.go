package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Archive verification: a verification of a PostgreSQL base backup also
// follows the archived WAL after it (the chain a point-in-time restore of
// it replays), and VerifyArchive checks a connection's whole WAL or binary
// log archive on its own (POST /api/connections/{id}/archive/verify). A gap
// (a missing file with later ones archived) or a missing or damaged object
// fails the check, naming the file; the result is metered in
// jagad_archive_verify_failed (alerted on).

// Archive kinds (the archive label of the archive metrics).
const (
	ArchiveWAL    = "wal"
	ArchiveBinlog = "binlog"
)

// archiveMetrics meter the last check of each connection's archive.
type archiveMetrics struct {
	failed, checked *prometheus.GaugeVec
}

func newArchiveMetrics(reg prometheus.Registerer) *archiveMetrics {
	lbl := []string{"connection", "archive"}
	m := &archiveMetrics{
		failed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_archive_verify_failed",
			Help: "1 when the last check of the connection's WAL or binary log archive (a verify of a backup that follows it, or POST /api/connections/{id}/archive/verify) found a gap or a missing or damaged file, or could not read it; 0 when it passed."}, lbl),
		checked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jagad_archive_verify_timestamp_seconds",
			Help: "Unix time of the last check of the connection's WAL or binary log archive."}, lbl),
	}
	reg.MustRegister(m.failed, m.checked)
	return m
}

// record meters one check.
func (m *archiveMetrics) record(conn, archive string, failed bool, at time.Time) {
	v := 0.0
	if failed {
		v = 1
	}
	m.failed.WithLabelValues(conn, archive).Set(v)
	m.checked.WithLabelValues(conn, archive).Set(float64(at.Unix()))
}

// ArchiveReport is the outcome of checking a connection's archive.
type ArchiveReport struct {
	ConnectionID   string    `json:"connection_id"`
	ConnectionName string    `json:"connection_name"`
	Archive        string    `json:"archive"` // wal or binlog
	Mode           string    `json:"mode"`    // quick or deep
	OK             bool      `json:"ok"`
	Files          int       `json:"files"` // archived files (WAL segments, binary logs)
	First          string    `json:"first,omitempty"`
	Last           string    `json:"last,omitempty"`
	Gaps           []string  `json:"gaps"`     // missing file names with later ones archived
	Problems       []string  `json:"problems"` // every problem, each naming its file (gaps included)
	CheckedAt      time.Time `json:"checked_at"`
}

// VerifyArchive checks a connection's whole archive: its WAL (PostgreSQL,
// wal_archive) or binary logs (MySQL/MariaDB, binlog_archive). Every
// archived file is read through its checks (size, checksums, decryption,
// decompression). A connection without an archive is a fault.Invalid.
func (e *Engine) VerifyArchive(ctx context.Context, connID string) (ArchiveReport, error) {
	var c state.Connection
	err := e.store.View(func(tx *state.Tx) (err error) {
		c, err = state.Get[state.Connection](tx, connID)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return ArchiveReport{}, fault.NotFound("connection not found")
	}
	if err != nil {
		return ArchiveReport{}, err
	}
	rep := ArchiveReport{ConnectionID: c.ID, ConnectionName: c.Name, Mode: VerifyDeep, Gaps: []string{}, Problems: []string{}}
	switch {
	case c.DBType == dbclient.PostgreSQL && c.WalArchive != nil && c.WalArchive.Enabled:
		rep.Archive = ArchiveWAL
		w, err := e.VerifyWAL(ctx, c.ID)
		if err != nil {
			e.archiveChecks.record(c.Name, ArchiveWAL, true, e.now())
			return rep, err
		}
		rep.Files, rep.First, rep.Last = w.Segments, w.First, w.Last
		rep.Problems = append(rep.Problems, w.Problems...)
		rep.Gaps = append(rep.Gaps, w.Gaps...)
	case c.DBType != dbclient.PostgreSQL && c.BinlogArchive != nil && c.BinlogArchive.Enabled:
		rep.Archive = ArchiveBinlog
		if err := e.verifyBinlogArchive(ctx, c, &rep); err != nil {
			e.archiveChecks.record(c.Name, ArchiveBinlog, true, e.now())
			return rep, err
		}
	default:
		return rep, fault.Invalid(fmt.Sprintf("connection %s archives nothing: set wal_archive (postgresql) or binlog_archive (mysql, mariadb)", c.Name))
	}
	rep.OK = len(rep.Problems) == 0
	rep.CheckedAt = e.now().UTC()
	e.archiveChecks.record(c.Name, rep.Archive, !rep.OK, rep.CheckedAt)
	return rep, nil
}

// verifyBinlogArchive checks every archived binary log of c: the sequence
// (per base name) has no hole, and every object is intact.
func (e *Engine) verifyBinlogArchive(ctx context.Context, c state.Connection, rep *ArchiveReport) error {
	sink, err := e.binlogSinkFor(c)
	if err != nil {
		return err
	}
	names, err := listBinlogObjects(ctx, sink.st, sink.prefix)
	if err != nil {
		return err
	}
	rep.Files = len(names)
	if len(names) > 0 {
		rep.First, rep.Last = names[0], names[len(names)-1]
	}
	prev := ""
	for _, n := range names {
		if prev != "" {
			pb, pn, _ := binlogSeq(prev)
			nb, nn, _ := binlogSeq(n)
			for want := prev; pb == nb && pn+1 < nn; pn++ {
				if want, err = nextBinlogName(want); err != nil {
					break
				}
				rep.Gaps = append(rep.Gaps, want)
				rep.Problems = append(rep.Problems, fmt.Sprintf("gap: binary log %s is missing", want))
			}
		}
		prev = n
		o, err := readBinlogObject(ctx, sink.st, sink.prefix, n)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("binary log %s: %v", n, err))
			continue
		}
		if err := e.checkBinlogs(ctx, sink, []BinlogObject{o}); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	return nil
}

// verifyArchiveAfter follows, for a verification of a PostgreSQL base
// backup of a connection whose WAL is archived, the archived WAL from the
// base's start on: a missing segment (a gap: later ones are archived, or
// the archive starts after the base) fails the verification, naming it;
// so does a missing or damaged object of the chain (quick: its stored
// bytes against its encrypted_checksum; deep: read through every check,
// decryption and decompression included, as a restore reads it). For MySQL/MariaDB chains the binary log archive is
// followed by verifyBinlogs; its outcome is metered here. Only the chain's
// segments are read (those a restore of the base replays), so the cost is
// bounded by the base's age, not the archive's; POST
// /api/connections/{id}/archive/verify (VerifyArchive, through VerifyWAL)
// reads the whole archive.
func (e *Engine) verifyArchiveAfter(ctx context.Context, b state.Backup, mode string, log *jobLog) error {
	if b.DBType != dbclient.PostgreSQL {
		err := e.verifyBinlogs(ctx, b, mode, log) // binlog_verify.go
		if isPhysical(b.BackupType) && b.BinlogFile != "" {
			if c, ok := e.archivingConn(b.ConnectionID); ok && c.BinlogArchive != nil && c.BinlogArchive.Enabled {
				e.archiveChecks.record(c.Name, ArchiveBinlog, err != nil, e.now())
			}
		}
		return err
	}
	if !isPGPhysical(b) || b.Physical == nil {
		return nil
	}
	c, ok := e.archivingConn(b.ConnectionID)
	if !ok || c.WalArchive == nil || !c.WalArchive.Enabled {
		log.Printf("VERIFY: connection has no wal_archive: the base backup alone was checked")
		return nil
	}
	err := e.verifyWALAfter(ctx, c, b, mode, log)
	e.archiveChecks.record(c.Name, ArchiveWAL, err != nil, e.now())
	if err != nil {
		return fmt.Errorf("WAL archive: %w", err)
	}
	return nil
}

// archivingConn reads a connection (false when it is gone).
func (e *Engine) archivingConn(id string) (state.Connection, bool) {
	var c state.Connection
	err := e.store.View(func(tx *state.Tx) (err error) {
		c, err = state.Get[state.Connection](tx, id)
		return err
	})
	return c, err == nil
}

func (e *Engine) verifyWALAfter(ctx context.Context, c state.Connection, b state.Backup, mode string, log *jobLog) error {
	st, err := e.walStoreOf(c)
	if err != nil {
		return err
	}
	a, err := listWAL(ctx, st, c.Name)
	if err != nil {
		return err
	}
	segs, err := a.chain(*b.Physical, 0)
	if err != nil {
		log.Printf("WAL ERROR: %v", err)
		return err
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return fmt.Errorf("encryption keyring: %w", err)
	}
	for _, sg := range segs {
		if mode == VerifyDeep {
			d, err := objfmt.CheckObject(ctx, st, sg.spec, objfmt.Keys{Ring: kr}, true)
			if err != nil {
				logCause(log, d, err)
				return fmt.Errorf("WAL segment %s failed its checks: %w", sg.name, err)
			}
		} else if err := quickVerify(ctx, st, sg.spec, quietLog{}); err != nil {
			log.Printf("WAL ERROR: segment %s: %v", sg.name, err)
			return fmt.Errorf("WAL segment %s: %w", sg.name, err)
		}
	}
	if len(segs) == 0 {
		log.Printf("VERIFY: WAL archive holds nothing after the base backup yet (no gap)")
		return nil
	}
	log.Printf("VERIFY: WAL archive continuous after the base backup: %d segment(s), %s to %s (%s)",
		len(segs), segs[0].name, segs[len(segs)-1].name, mode)
	return nil
}

// quietLog drops the per-object lines of a segment's quick check (a chain
// can hold thousands; the verification logs one summary line).
type quietLog struct{}

func (quietLog) Write(p []byte) (int, error) { return len(p), nil }
func (quietLog) Printf(string, ...any)       {}
