package state

import (
	"math/rand/v2"
	"sync"
)

// versions counts committed writes per kind, so a reader can tell whether
// the records of a kind may have changed without reading them (the API's
// ETags, see api/conditional.go).
//
// seq is one store-wide counter; every committed Update moves it forward
// once and stamps each kind it touched with the new value. Version(kinds...)
// is the largest stamp among kinds: it changes whenever any of them was
// written, and never comes back to an earlier value while the store is open.
// epoch is random per open, so a version seen before a restart (when the
// counters start again at zero) does not name the state after it.
type versions struct {
	epoch uint64
	mu    sync.Mutex
	seq   uint64
	last  map[Kind]uint64
}

func newVersions() *versions {
	return &versions{epoch: rand.Uint64(), last: map[Kind]uint64{}}
}

// bump stamps touched with a new sequence number. It runs after the commit
// (see Update): a reader that reads the version first and the records second
// may pair an old version with newer records, which only costs a later 200,
// never the reverse (a new version with old records would be kept by a
// client as current).
func (v *versions) bump(touched map[Kind]struct{}) {
	if len(touched) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	for k := range touched {
		v.last[k] = v.seq
	}
}

func (v *versions) of(kinds []Kind) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var n uint64
	for _, k := range kinds {
		n = max(n, v.last[k])
	}
	return n
}

// Version identifies the committed state of the records of kinds: it
// changes after every committed write that touched one of them, and only
// then. It is meaningful within one open of the store; Epoch tells opens
// apart. Read it before reading the records it stands for.
func (s *Store) Version(kinds ...Kind) uint64 { return s.versions.of(kinds) }

// Epoch is a random number drawn when the store was opened.
func (s *Store) Epoch() uint64 { return s.versions.epoch }
