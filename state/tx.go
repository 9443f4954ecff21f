package state

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Errors about the life cycle of the store and its transactions.
var (
	// ErrClosed is returned by every operation on a closed store.
	ErrClosed = errors.New("state store is closed")
	// ErrTxDone is returned when a Tx is used after the View or Update
	// function it was handed to has returned. A Tx is only valid inside that
	// function and only on the goroutine that runs it.
	ErrTxDone = errors.New("transaction already finished: a Tx is only valid inside its View/Update function")
	// ErrReadOnly is returned by writes inside View.
	ErrReadOnly = errors.New("write in a read-only transaction")
)

// updateAttempts bounds the retries of an Update that lost a write conflict.
const updateAttempts = 10

// Store is the Badger-backed state store. It is safe for concurrent use.
type Store struct {
	db    *badger.DB
	log   *slog.Logger
	now   func() time.Time
	seal  *sealer
	feed  *feed
	space *spaceGuard // nil: in memory or no guard

	// versions counts committed writes per kind (versions.go).
	versions *versions
	// life guards closed and active: a View or Update registers in active
	// while the store is open, and Close marks the store closed and then
	// waits for the registered transactions, so none touches Badger once
	// it closes (Badger asserts on that and kills the process).
	life   sync.Mutex
	closed bool
	active sync.WaitGroup
	// badgerDir is where Badger's files are ("" in memory).
	badgerDir string
	// writeMu serialises read-write transactions. Every backup write also
	// updates the one stats record, so concurrent writers would otherwise
	// conflict on it; in one process a lock is cheaper and cannot run out
	// of retries the way optimistic conflict handling can.
	writeMu sync.Mutex

	stopGC    chan struct{}
	gcDone    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Tx is one read or read-write transaction. A Tx must not be kept or used
// after the function it was passed to returns (methods then fail with
// ErrTxDone), and must not be shared between goroutines.
type Tx struct {
	s        *Store
	txn      *badger.Txn
	writable bool
	done     atomic.Bool
	touched  map[Kind]struct{}
	changes  []RecordChange    // named record changes (changes.go)
	spilled  map[Kind]struct{} // kinds changed beyond maxTxChanges
	stats    *backupAgg        // loaded lazily; written back before commit when dirty
	statsDty bool
}

// Close refuses new transactions (ErrClosed), waits for the running ones to
// return, stops the value-log GC and closes Badger. Later calls return the
// first call's result. Subscriber channels are left open (never signalled).
// When the data dir has no room for Badger's closing flush, Badger is left
// open (the process is expected to exit) and Close returns an error wrapping
// ErrNoSpace.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.life.Lock()
		s.closed = true
		s.life.Unlock()
		s.active.Wait()
		s.space.close()
		if s.stopGC != nil {
			close(s.stopGC)
			<-s.gcDone
		}
		if err := s.space.canClose(s.badgerDir); err != nil {
			s.closeErr = fmt.Errorf("close store: %w", err)
			return
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the store is usable (readiness).
func (s *Store) Ping() error {
	return s.View(func(tx *Tx) error {
		if _, err := tx.txn.Get([]byte(keySchema)); err != nil {
			return fmt.Errorf("ping store: %w", err)
		}
		return nil
	})
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.active.Done()
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	tx := &Tx{s: s, txn: txn}
	defer tx.done.Store(true)
	return fn(tx)
}

// Update runs fn in one read-write Badger transaction and commits it
// atomically; on conflict it retries fn. After a successful commit,
// subscribers of the touched kinds are notified. While the data dir is below
// its free-space floor, Update refuses to run fn and returns an error
// wrapping ErrNoSpace (an apierr insufficient_storage error).
//
// Read-write transactions run one at a time, so fn must be quick and must
// not call Update itself (it would deadlock). fn may still run more than
// once (after a conflict with a writer outside Update), so it must not have
// side effects outside the Tx that cannot be repeated.
func (s *Store) Update(fn func(*Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.active.Done()
	for attempt := 1; ; attempt++ {
		s.writeMu.Lock()
		// Checked under writeMu: writes run one at a time, so no other
		// write lands between the check and this commit.
		err := s.space.admit()
		var touched map[Kind]struct{}
		var changes []RecordChange
		if err == nil {
			touched, changes, err = s.updateOnce(fn)
		}
		s.writeMu.Unlock()
		if errors.Is(err, badger.ErrConflict) && attempt < updateAttempts {
			// Jitter so that two writers that keep colliding drift apart.
			time.Sleep(time.Duration(rand.IntN(attempt*500)) * time.Microsecond)
			continue
		}
		// touched is set after a commit, and after a commit that failed
		// other than by a conflict (it may have landed): a needless bump
		// costs a reader one full read, a missing one a stale answer.
		s.versions.bump(touched)
		if err != nil {
			return err
		}
		s.feed.notify(touched, changes)
		return nil
	}
}

// enter registers a transaction with Close; it fails with ErrClosed once
// Close has begun. The caller calls s.active.Done when the transaction ends.
// A View or Update nested in another one may fail this way while the outer
// one finishes: Close waits for the outer one only.
func (s *Store) enter() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.active.Add(1)
	return nil
}

func (s *Store) updateOnce(fn func(*Tx) error) (map[Kind]struct{}, []RecordChange, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	tx := &Tx{s: s, txn: txn, writable: true, touched: map[Kind]struct{}{}}
	defer tx.done.Store(true)
	if err := fn(tx); err != nil {
		return nil, nil, err
	}
	if err := tx.flush(); err != nil {
		return nil, nil, err
	}
	tx.done.Store(true)
	if err := txn.Commit(); err != nil {
		if errors.Is(err, badger.ErrConflict) {
			return nil, nil, err
		}
		return tx.touched, nil, fmt.Errorf("commit: %w", err)
	}
	return tx.touched, tx.committedChanges(), nil
}

// check returns an error when tx may not be used (any more).
func (tx *Tx) check(write bool) error {
	if tx.done.Load() {
		return ErrTxDone
	}
	if write && !tx.writable {
		return ErrReadOnly
	}
	return nil
}

// touch records that a kind was written in this transaction.
func (tx *Tx) touch(k Kind) { tx.touched[k] = struct{}{} }

// flush writes state cached in the Tx (the backup stats) before commit.
func (tx *Tx) flush() error {
	if !tx.statsDty {
		return nil
	}
	return tx.writeStats()
}
