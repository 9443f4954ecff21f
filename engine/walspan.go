package engine

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jagad/jagad/engine/dbclient"
	"github.com/jagad/jagad/engine/objfmt"
	"github.com/jagad/jagad/engine/pgwal"
	"github.com/jagad/jagad/state"
)

// For PostgreSQL, backup_type incremental is the WAL stream since the last
// base backup: a base plus the segments archived after it restore any
// point up to the newest segment. WALSpan describes that stream for one
// base; the stats count the segments since each connection's newest base
// as incrementals, and GET /api/backups/{id} shows a base's span.

// WALSpan is the WAL archived after a PostgreSQL base backup.
type WALSpan struct {
	BaseBackupID   string `json:"base_backup_id"`
	ConnectionID   string `json:"connection_id"`
	ConnectionName string `json:"connection_name"`
	// StartSegment is the segment of the base's start LSN: a restore of
	// the base replays WAL from there.
	StartSegment string `json:"start_segment"`
	// Segments are the archived segments after the base's stop segment
	// (up to the next base's, when one exists); First and Last name them.
	Segments int    `json:"segments"`
	First    string `json:"first,omitempty"`
	Last     string `json:"last,omitempty"`
	// NextBaseID is the next base backup of the connection, when one
	// exists: points after it restore from that one.
	NextBaseID string `json:"next_base_id,omitempty"`
}

// walListing caches the segment names of a connection's WAL archive for a
// while: the stats ask for every archiving connection each time.
type walListing struct {
	mu   sync.Mutex
	byID map[string]walListed
}

type walListed struct {
	at    time.Time
	names []string
}

// walListTTL is how long a listing is reused.
const walListTTL = 15 * time.Second

// walSegmentNames lists the archived segment names of conn, sorted (a
// listing of object keys, no manifest read), reusing one made within
// walListTTL.
func (e *Engine) walSegmentNames(ctx context.Context, conn state.Connection) ([]string, error) {
	e.walList.mu.Lock()
	if l, ok := e.walList.byID[conn.ID]; ok && e.now().Sub(l.at) < walListTTL {
		e.walList.mu.Unlock()
		return l.names, nil
	}
	e.walList.mu.Unlock()
	st, err := e.walStoreOf(conn)
	if err != nil {
		return nil, err
	}
	infos, err := st.List(ctx, walPrefix(conn.Name))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, in := range infos {
		base := path.Base(in.Key)
		if strings.HasSuffix(base, objfmt.ManifestSuffix) || len(base) < 24 || !pgwal.IsSegment(base[:24]) {
			continue
		}
		names = append(names, base[:24])
	}
	slices.Sort(names)
	names = slices.Compact(names)
	e.walList.mu.Lock()
	if e.walList.byID == nil {
		e.walList.byID = map[string]walListed{}
	}
	e.walList.byID[conn.ID] = walListed{at: e.now(), names: names}
	e.walList.mu.Unlock()
	return names, nil
}

// WALSpanOf is the WAL span of b: nil when b is not a PostgreSQL base
// backup of a connection archiving its WAL.
func (e *Engine) WALSpanOf(ctx context.Context, b state.Backup) (*WALSpan, error) {
	if !isPGPhysical(b) || b.Physical == nil || b.Status != state.StatusSuccess {
		return nil, nil
	}
	var conn state.Connection
	var bases []state.Backup
	err := e.store.View(func(tx *state.Tx) (err error) {
		if conn, err = state.Get[state.Connection](tx, b.ConnectionID); err != nil {
			return err
		}
		bases, err = tx.ListBackups(state.BackupQuery{ConnectionID: b.ConnectionID, Status: state.StatusSuccess})
		return err
	})
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, nil // the connection is gone: no archive followed
	case err != nil:
		return nil, err
	case conn.WalArchive == nil || !conn.WalArchive.Enabled:
		return nil, nil
	}
	var next *state.Backup
	for i, o := range bases {
		if isPGPhysical(o) && o.Physical != nil && o.ID != b.ID && o.CompletedAt != nil && b.CompletedAt != nil &&
			o.CompletedAt.After(*b.CompletedAt) && (next == nil || o.CompletedAt.Before(*next.CompletedAt)) {
			next = &bases[i]
		}
	}
	names, err := e.walSegmentNames(ctx, conn)
	if err != nil {
		return nil, err
	}
	return spanOf(b, next, conn, names), nil
}

// spanOf counts the segments of names after b's stop segment, and up to
// next's stop segment when next is set.
func spanOf(b state.Backup, next *state.Backup, conn state.Connection, names []string) *WALSpan {
	sp := &WALSpan{BaseBackupID: b.ID, ConnectionID: conn.ID, ConnectionName: conn.Name}
	start, err1 := pgwal.ParseLSN(b.Physical.StartLSN)
	stop, err2 := pgwal.ParseLSN(b.Physical.StopLSN)
	if err1 != nil || err2 != nil {
		return sp
	}
	tli := uint32(b.Physical.Timeline)
	sp.StartSegment = pgwal.SegmentOf(tli, start).Name()
	after := pgwal.SegmentOf(tli, stop)
	var upTo *pgwal.Segment
	if next != nil {
		sp.NextBaseID = next.ID
		if l, err := pgwal.ParseLSN(next.Physical.StopLSN); err == nil {
			s := pgwal.SegmentOf(uint32(next.Physical.Timeline), l)
			upTo = &s
		}
	}
	for _, n := range names {
		s, err := pgwal.ParseSegment(n)
		if err != nil || s.TLI < tli || s.No <= after.No || (upTo != nil && (s.TLI > upTo.TLI || s.No > upTo.No)) {
			continue
		}
		if sp.First == "" {
			sp.First = n
		}
		sp.Last = n
		sp.Segments++
	}
	return sp
}

// WALIncrementals are the WAL spans since the newest base backup of every
// PostgreSQL connection archiving its WAL: what the stats count as
// incrementals. A connection whose archive cannot be listed is left out
// (and logged).
func (e *Engine) WALIncrementals(ctx context.Context) ([]WALSpan, error) {
	var conns []state.Connection
	newest := map[string]state.Backup{}
	err := e.store.View(func(tx *state.Tx) error {
		cs, err := state.List[state.Connection](tx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.DBType != dbclient.PostgreSQL || c.WalArchive == nil || !c.WalArchive.Enabled {
				continue
			}
			bs, err := tx.ListBackups(state.BackupQuery{ConnectionID: c.ID, Status: state.StatusSuccess})
			if err != nil {
				return err
			}
			for _, b := range bs {
				if isPGPhysical(b) && b.Physical != nil && b.CompletedAt != nil &&
					(newest[c.ID].CompletedAt == nil || b.CompletedAt.After(*newest[c.ID].CompletedAt)) {
					newest[c.ID] = b
				}
			}
			if _, ok := newest[c.ID]; ok {
				conns = append(conns, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []WALSpan{}
	for _, c := range conns {
		names, err := e.walSegmentNames(ctx, c)
		if err != nil {
			e.log.Warn("WAL archive not listed for the stats", "connection", c.Name, "err", err)
			continue
		}
		out = append(out, *spanOf(newest[c.ID], nil, c, names))
	}
	return out, nil
}
