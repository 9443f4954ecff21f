package state

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Record changes: besides the kind-level signal of Subscribe, the change
// feed can name each record a commit created, updated or deleted
// (SubscribeRecords), so a reader refreshes only what changed. Singletons
// (settings, the config status) change with an empty ID.
//
// Nothing here can block a writer or grow without bound: a transaction
// names at most maxTxChanges records and a subscriber holds at most
// maxPendingChanges unread ones; beyond either, the kind is reported once
// as ChangeMany ("re-read every record of this kind").

// Change operations.
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
	// ChangeMany: too many records of the kind changed to name them.
	ChangeMany = "changed"
)

// Bounds of the record change feed.
const (
	maxTxChanges      = 256
	maxPendingChanges = 256
)

// RecordChange names one record a committed transaction changed.
type RecordChange struct {
	Kind   Kind   `json:"kind"`
	ID     string `json:"id,omitempty"`
	Change string `json:"change"`
}

// changed notes a record change of this transaction (and touches its kind).
func (tx *Tx) changed(k Kind, id, op string) {
	tx.touch(k)
	if len(tx.changes) >= maxTxChanges {
		if tx.spilled == nil {
			tx.spilled = map[Kind]struct{}{}
		}
		tx.spilled[k] = struct{}{}
		return
	}
	tx.changes = append(tx.changes, RecordChange{Kind: k, ID: id, Change: op})
}

// committedChanges is what a committed transaction tells record
// subscribers.
// A kind that spilled is reported once as ChangeMany, its named changes
// dropped.
func (tx *Tx) committedChanges() []RecordChange {
	if len(tx.spilled) == 0 {
		return tx.changes
	}
	out := make([]RecordChange, 0, len(tx.changes)+len(tx.spilled))
	for _, c := range tx.changes {
		if _, ok := tx.spilled[c.Kind]; !ok {
			out = append(out, c)
		}
	}
	for k := range tx.spilled {
		out = append(out, RecordChange{Kind: k, Change: ChangeMany})
	}
	return out
}

// exists reports whether key holds a value in this transaction.
func (tx *Tx) exists(key string) (bool, error) {
	_, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	return true, nil
}

// Changes is a subscription to named record changes.
type Changes struct {
	sub  *subscriber
	stop func()
}

// SubscribeRecords subscribes to the records of kinds (every kind when none
// given) that committed transactions create, update or delete. Ready is
// signalled (one slot, bursts coalesce) when Take has something; Stop ends
// the subscription.
func (s *Store) SubscribeRecords(kinds ...Kind) *Changes {
	sub, stop := s.feed.add(kinds, true)
	return &Changes{sub: sub, stop: stop}
}

// Ready is signalled after a commit changed records of the subscribed kinds.
func (c *Changes) Ready() <-chan struct{} { return c.sub.ch }

// Stop ends the subscription.
func (c *Changes) Stop() { c.stop() }

// Take returns the changes not yet taken, oldest first, one per record
// (created then updated is created; anything then deleted is deleted;
// deleted then created is updated), then a ChangeMany for each kind that
// overflowed.
func (c *Changes) Take() []RecordChange {
	s := c.sub
	s.mu.Lock()
	pending, over := s.pending, s.overflow
	s.pending, s.overflow = nil, nil
	s.mu.Unlock()
	out := make([]RecordChange, 0, len(pending)+len(over))
	at := map[RecordChange]int{} // {kind, id} → index in out
	for _, ch := range pending {
		if _, ok := over[ch.Kind]; ok {
			continue
		}
		key := RecordChange{Kind: ch.Kind, ID: ch.ID}
		i, seen := at[key]
		if !seen || ch.Change == ChangeMany {
			at[key] = len(out)
			out = append(out, ch)
			continue
		}
		out[i].Change = mergeChange(out[i].Change, ch.Change)
	}
	for k := range over {
		out = append(out, RecordChange{Kind: k, Change: ChangeMany})
	}
	return out
}

func mergeChange(was, now string) string {
	switch {
	case now == ChangeDeleted || was == ChangeMany:
		return now
	case was == ChangeCreated:
		return ChangeCreated
	default: // updated or re-created after a delete
		return ChangeUpdated
	}
}

// offer queues changes for a record subscriber; it reports whether any was
// of a kind it wants.
func (s *subscriber) offer(changes []RecordChange) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	any := false
	for _, ch := range changes {
		if len(s.kinds) > 0 {
			if _, ok := s.kinds[ch.Kind]; !ok {
				continue
			}
		}
		any = true
		if len(s.pending) >= maxPendingChanges {
			if s.overflow == nil {
				s.overflow = map[Kind]struct{}{}
			}
			s.overflow[ch.Kind] = struct{}{}
			continue
		}
		s.pending = append(s.pending, ch)
	}
	return any
}
