package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgphys"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// Point-in-time restore: a request with target_time, target_lsn or latest
// restores the newest physical base backup of the backup's connection that
// completed before the point (for latest: the newest), plus the archived
// WAL from the base's start on, into target_dir, and writes the recovery
// settings (restore_command copying from target_dir/jagad_restore_wal,
// recovery_target_time or recovery_target_lsn, recovery_target_action =
// promote, recovery.signal). Verify-first: the base and every WAL segment
// of the chain are read through their checks before anything is written;
// a segment missing from the chain (a gap) fails the restore naming it.
// Only the base's timeline is followed.

// walSegment is one archived WAL file.
type walSegment struct {
	name string
	seg  pgwal.Segment
	spec objfmt.Spec
}

// walArchive is what storage holds of a connection's WAL archive.
type walArchive struct {
	segs    map[string]objfmt.Manifest // by file name (segments only)
	objects map[string]bool            // object keys present
}

// listWAL reads the manifests of a connection's WAL archive.
func listWAL(ctx context.Context, st storage.Store, connName string) (walArchive, error) {
	a := walArchive{segs: map[string]objfmt.Manifest{}, objects: map[string]bool{}}
	infos, err := st.List(ctx, walPrefix(connName))
	if err != nil {
		return a, fmt.Errorf("list WAL archive: %w", err)
	}
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, objfmt.ManifestSuffix) {
			a.objects[in.Key] = true
			continue
		}
		m, err := objfmt.ReadManifest(ctx, st, in.Key)
		if err != nil {
			return a, fmt.Errorf("WAL manifest %s: %w", in.Key, err)
		}
		if pgwal.IsSegment(m.DatabaseName) {
			a.segs[m.DatabaseName] = m
		}
	}
	return a, nil
}

// chain returns the segments a restore of base needs, in order: those of
// the base's own span that are archived (the others are in the base's
// pg_wal), then every following segment as long as they are contiguous. A
// segment after the first missing one means a gap: an error naming it.
// needLSN (0: none) must be covered.
func (a walArchive) chain(base state.PhysicalInfo, needLSN uint64) ([]walSegment, error) {
	startLSN, err1 := pgwal.ParseLSN(base.StartLSN)
	stopLSN, err2 := pgwal.ParseLSN(base.StopLSN)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	tli := uint32(base.Timeline)
	s, stop := pgwal.SegmentOf(tli, startLSN), pgwal.SegmentOf(tli, stopLSN)
	var out []walSegment
	add := func(s pgwal.Segment, m objfmt.Manifest) {
		out = append(out, walSegment{name: s.Name(), seg: s, spec: objfmt.SpecOfManifest(m)})
	}
	for ; s.No <= stop.No; s = s.Next() {
		if m, ok := a.segs[s.Name()]; ok {
			add(s, m)
		}
	}
	for {
		m, ok := a.segs[s.Name()]
		if !ok {
			break
		}
		add(s, m)
		s = s.Next()
	}
	missing := s
	for name := range a.segs {
		if seg, err := pgwal.ParseSegment(name); err == nil && seg.TLI == tli && seg.No > missing.No {
			return nil, fmt.Errorf("WAL segment %s is missing from the archive (a gap: later segments exist)", missing.Name())
		}
	}
	if needLSN > 0 && missing.No <= pgwal.SegmentOf(tli, needLSN).No {
		return nil, fmt.Errorf("WAL segment %s is not archived yet: the archive ends before the target", missing.Name())
	}
	for _, w := range out {
		if !a.objects[w.spec.Key] {
			return nil, fmt.Errorf("WAL segment %s: object %s is missing from storage", w.name, w.spec.Key)
		}
	}
	return out, nil
}

// pitrRequested reports whether a request asks for a point in time.
func pitrRequested(req RestoreRequest) bool {
	return req.TargetTime != nil || req.TargetLSN != "" || req.Latest
}

// chooseBase picks the newest successful physical base backup of b's
// connection that completed before the request's point.
func (e *Engine) chooseBase(b state.Backup, req RestoreRequest) (state.Backup, error) {
	n := 0
	if req.TargetTime != nil {
		n++
	}
	if req.TargetLSN != "" {
		n++
	}
	if req.Latest {
		n++
	}
	if n != 1 {
		return b, fault.Invalid("give one of target_time, target_lsn and latest")
	}
	var want uint64
	if req.TargetLSN != "" {
		var err error
		if want, err = pgwal.ParseLSN(req.TargetLSN); err != nil {
			return b, fault.Invalid("target_lsn: " + err.Error())
		}
	}
	var all []state.Backup
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		all, err = tx.ListBackups(state.BackupQuery{ConnectionID: b.ConnectionID, Status: state.StatusSuccess})
		return err
	})
	if err != nil {
		return b, err
	}
	if c, ok := newestBase(all, req.TargetTime, want); ok {
		return c, nil
	}
	return b, fault.Invalid(fmt.Sprintf("no successful physical base backup of connection %s completed before the requested point", b.ConnectionName))
}

// newestBase is the first base backup of all (newest first) that
// completed before t (nil: any) and whose stop LSN is at or before want
// (0: any).
func newestBase(all []state.Backup, t *time.Time, want uint64) (state.Backup, bool) {
	for _, c := range all {
		if c.BackupType != state.BackupPhysical || c.Physical == nil || c.CompletedAt == nil {
			continue
		}
		switch {
		case t != nil && !c.CompletedAt.Before(*t):
			continue
		case want > 0:
			if stop, err := pgwal.ParseLSN(c.Physical.StopLSN); err != nil || stop > want {
				continue
			}
		}
		return c, true
	}
	return state.Backup{}, false
}

// walStoreOf opens the storage of a connection's WAL archive.
func (e *Engine) walStoreOf(conn state.Connection) (storage.Store, error) {
	if conn.WalArchive == nil || conn.WalArchive.Storage == "" {
		return nil, fault.Invalid(fmt.Sprintf("connection %s has no wal_archive: a point-in-time restore needs its archived WAL", conn.Name))
	}
	var p state.Provider
	err := e.store.View(func(tx *state.Tx) error {
		all, err := state.List[state.Provider](tx)
		for _, x := range all {
			if x.Name == conn.WalArchive.Storage {
				p = x
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if p.ID == "" {
		return nil, fault.Invalid(fmt.Sprintf("the WAL archive storage %q of connection %s does not exist", conn.WalArchive.Storage, conn.Name))
	}
	return e.stores.open(p)
}

// verifyWALChain lists, selects and reads through their checks every WAL
// segment a restore of r needs.
func verifyWALChain(ctx context.Context, r pgDirRestore, log restoreLog) (storage.Store, []walSegment, error) {
	st, err := r.walStore()
	if err != nil {
		return nil, nil, err
	}
	a, err := listWAL(ctx, st, r.walConn)
	if err != nil {
		return nil, nil, err
	}
	var need uint64
	if r.pitr.LSN != "" {
		need, _ = pgwal.ParseLSN(r.pitr.LSN)
	}
	segs, err := a.chain(*r.base, need)
	if err != nil {
		log.Printf("WAL ERROR: %v", err)
		return nil, nil, err
	}
	for _, s := range segs {
		d, err := objfmt.CheckObject(ctx, st, s.spec, r.keys, decompressInCheck)
		if err != nil {
			logCause(log, d, err)
			return nil, nil, fmt.Errorf("WAL segment %s failed its checks: %w", s.name, err)
		}
	}
	if len(segs) > 0 {
		log.Printf("VERIFY: %d archived WAL segments intact (%s to %s)", len(segs), segs[0].name, segs[len(segs)-1].name)
	} else {
		log.Printf("VERIFY: no archived WAL beyond the base backup")
	}
	return st, segs, nil
}

// writeWAL writes the verified segments into dir/WALDir (checked again on
// the way) and the recovery settings.
func writeWAL(ctx context.Context, st storage.Store, segs []walSegment, keys objfmt.Keys, dir string, target pgphys.Target, log restoreLog) error {
	wdir := filepath.Join(dir, pgphys.WALDir)
	if err := os.Mkdir(wdir, 0o700); err != nil {
		return err
	}
	for _, s := range segs {
		if err := writeSegment(ctx, st, s, keys, filepath.Join(wdir, s.name)); err != nil {
			return fmt.Errorf("WAL segment %s: %w", s.name, err)
		}
	}
	if err := pgphys.WriteRecovery(dir, target); err != nil {
		return err
	}
	what := "the end of the archived WAL (latest)"
	switch {
	case target.Time != nil:
		what = "recovery_target_time " + target.Time.UTC().Format(time.RFC3339Nano)
	case target.LSN != "":
		what = "recovery_target_lsn " + target.LSN
	}
	log.Printf("RECOVERY: %d WAL segments in %s; recovery.signal written; recovers to %s, then promotes",
		len(segs), wdir, what)
	return nil
}

func writeSegment(ctx context.Context, st storage.Store, s walSegment, keys objfmt.Keys, path string) error {
	d, err := objfmt.OpenDump(ctx, st, s.spec, keys)
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, d); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// WALReport is the outcome of checking a connection's WAL archive.
type WALReport struct {
	Segments int      `json:"segments"`
	First    string   `json:"first,omitempty"`
	Last     string   `json:"last,omitempty"`
	Problems []string `json:"problems,omitempty"` // gaps, missing or damaged objects, each naming its segment
	Gaps     []string `json:"gaps,omitempty"`     // the segments missing from the sequence (also in Problems)
}

// VerifyWAL reads every archived segment of a connection through its
// checks and reports gaps in the sequence (per timeline) and missing or
// damaged objects.
func (e *Engine) VerifyWAL(ctx context.Context, connID string) (WALReport, error) {
	var rep WALReport
	var conn state.Connection
	err := e.store.View(func(tx *state.Tx) error {
		var err error
		conn, err = state.Get[state.Connection](tx, connID)
		return notFound(err, "connection not found")
	})
	if err != nil {
		return rep, err
	}
	st, err := e.walStoreOf(conn)
	if err != nil {
		return rep, err
	}
	a, err := listWAL(ctx, st, conn.Name)
	if err != nil {
		return rep, err
	}
	kr, err := e.opts.Keys()
	if err != nil {
		return rep, fmt.Errorf("encryption keyring: %w", err)
	}
	names := make([]string, 0, len(a.segs))
	for n := range a.segs {
		names = append(names, n)
	}
	slices.Sort(names)
	rep.Segments = len(names)
	if len(names) > 0 {
		rep.First, rep.Last = names[0], names[len(names)-1]
	}
	var prev *pgwal.Segment
	for _, n := range names {
		seg, _ := pgwal.ParseSegment(n)
		if prev != nil && prev.TLI == seg.TLI {
			for s := prev.Next(); s.No < seg.No; s = s.Next() {
				rep.Gaps = append(rep.Gaps, s.Name())
				rep.Problems = append(rep.Problems, fmt.Sprintf("gap: WAL segment %s is missing", s.Name()))
			}
		}
		prev = &seg
		spec := objfmt.SpecOfManifest(a.segs[n])
		if !a.objects[spec.Key] {
			rep.Problems = append(rep.Problems, fmt.Sprintf("WAL segment %s: object %s is missing from storage", n, spec.Key))
			continue
		}
		if _, err := objfmt.CheckObject(ctx, st, spec, objfmt.Keys{Ring: kr}, true); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("WAL segment %s: %v", n, err))
		}
	}
	return rep, nil
}
