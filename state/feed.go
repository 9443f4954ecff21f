package state

import "sync"

// feed fans committed changes out to subscribers.
type feed struct {
	mu   sync.Mutex
	next int
	subs map[int]*subscriber
}

type subscriber struct {
	ch    chan struct{}
	kinds map[Kind]struct{} // empty: every kind
	// records: a SubscribeRecords subscriber, which also queues the
	// named changes (changes.go).
	records  bool
	mu       sync.Mutex
	pending  []RecordChange
	overflow map[Kind]struct{}
}

func newFeed() *feed { return &feed{subs: map[int]*subscriber{}} }

// Subscribe returns a one-slot channel that receives a value after every
// committed Update that touched any of kinds (all kinds when none given).
// Bursts coalesce; subscribers re-read state (level-triggered). The returned
// func unsubscribes; the channel is never closed.
func (s *Store) Subscribe(kinds ...Kind) (<-chan struct{}, func()) {
	return s.feed.subscribe(kinds)
}

func (f *feed) subscribe(kinds []Kind) (<-chan struct{}, func()) {
	sub, stop := f.add(kinds, false)
	return sub.ch, stop
}

// add registers a subscriber; records: it queues named changes too.
func (f *feed) add(kinds []Kind, records bool) (*subscriber, func()) {
	sub := &subscriber{ch: make(chan struct{}, 1), kinds: map[Kind]struct{}{}, records: records}
	for _, k := range kinds {
		sub.kinds[k] = struct{}{}
	}
	f.mu.Lock()
	id := f.next
	f.next++
	f.subs[id] = sub
	f.mu.Unlock()
	var once sync.Once
	return sub, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, id)
			f.mu.Unlock()
		})
	}
}

// notify signals every subscriber interested in one of touched, without
// blocking: a pending signal already covers this change.
func (f *feed) notify(touched map[Kind]struct{}, changes []RecordChange) {
	if len(touched) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sub := range f.subs {
		if sub.records {
			if !sub.offer(changes) {
				continue
			}
		} else if !sub.wants(touched) {
			continue
		}
		select {
		case sub.ch <- struct{}{}:
		default:
		}
	}
}

func (s *subscriber) wants(touched map[Kind]struct{}) bool {
	if len(s.kinds) == 0 {
		return true
	}
	for k := range touched {
		if _, ok := s.kinds[k]; ok {
			return true
		}
	}
	return false
}
