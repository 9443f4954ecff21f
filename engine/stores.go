package engine

import (
	"sync"
	"time"

	"github.com/jagad/jagad/engine/storage"
	"github.com/jagad/jagad/state"
)

// storeCache keeps one storage.Store per provider record version, so that
// S3 clients (and their connection pools) are reused between jobs.
type storeCache struct {
	rt storage.Runtime
	mu sync.Mutex
	m  map[string]cachedStore
}

type cachedStore struct {
	updated time.Time
	spec    state.ProviderSpec
	store   storage.Store
}

func newStoreCache(rt storage.Runtime) *storeCache {
	return &storeCache{rt: rt, m: map[string]cachedStore{}}
}

// open returns the store of provider p.
func (c *storeCache) open(p state.Provider) (storage.Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.m[p.ID]; ok && cs.updated.Equal(p.UpdatedAt) && cs.spec == specKey(p.ProviderSpec) {
		return cs.store, nil
	}
	cfg := providerConfig(p)
	cfg.Name, cfg.Runtime = p.Name, c.rt
	st, err := storage.Open(cfg)
	if err != nil {
		return nil, err
	}
	c.m[p.ID] = cachedStore{updated: p.UpdatedAt, spec: specKey(p.ProviderSpec), store: st}
	return st, nil
}

func specKey(s state.ProviderSpec) state.ProviderSpec {
	s.IsDefault = false
	return s
}

// providerConfig maps a provider record onto a storage configuration.
func providerConfig(p state.Provider) storage.Config {
	return storage.Config{
		Type: p.ProviderType, Path: p.Path, Endpoint: p.Endpoint, Region: p.Region,
		Bucket: p.Bucket, Prefix: p.Prefix, AccessKey: p.AccessKey,
		SecretKey: p.SecretKey.Reveal(), PathStyle: p.PathStyle,
		ObjectLock: storage.ObjectLock{Mode: p.ObjectLock.Mode, Days: p.ObjectLock.Days},
	}
}
