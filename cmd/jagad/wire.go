package main

import (
	"sync"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/state"
)

// keySource hands the engine the keyring of the last accepted jagad.yaml,
// plus JAGAD_ENCRYPTION_KEY as key id "default". Its keyrings share one
// KDFCache, so a passphrase key costs one Argon2id per process, not one per
// reload or per object.
type keySource struct {
	envKey string
	cache  *crypt.KDFCache
	mu     sync.Mutex
	enc    *config.Encryption
	kr     *crypt.Keyring
	err    error
	built  bool
}

func newKeySource(envKey string) *keySource {
	return &keySource{envKey: envKey, cache: crypt.NewKDFCache(crypt.DefaultKDFCacheSize)}
}

func (k *keySource) setFile(f *config.File) {
	k.mu.Lock()
	k.enc, k.built = f.Encryption, false
	k.mu.Unlock()
	k.prepare()
}

// prepare stretches the active passphrase key (crypt.Keyring.Prepare)
// while nothing else is big: at start, before the API serves, and after a
// reload that changes it (an unchanged one is in the cache: no cost).
// Errors surface where the keyring is used.
func (k *keySource) prepare() {
	if kr, err := k.keyring(); err == nil && kr != nil {
		_ = kr.Prepare()
	}
}

// keyring returns the current keyring, or nil when no key is configured.
func (k *keySource) keyring() (*crypt.Keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.built {
		k.kr, k.err = buildKeyring(k.enc, k.envKey, k.cache)
		k.built = true
	}
	return k.kr, k.err
}

// buildKeyring applies crypt's key-selection rules to jagad.yaml's
// encryption block and JAGAD_ENCRYPTION_KEY.
func buildKeyring(enc *config.Encryption, envKey string, cache *crypt.KDFCache) (*crypt.Keyring, error) {
	c := crypt.KeyConfig{EnvKey: envKey, Cache: cache}
	if enc != nil {
		c.Keys = make(map[string]string, len(enc.Keys))
		for _, key := range enc.Keys {
			c.Keys[key.ID] = key.Key
		}
		c.Active, c.RecoveryRecipient = enc.ActiveKey, enc.RecoveryRecipient
	}
	return crypt.KeyringFor(c)
}

// metricsToken is JAGAD_METRICS_TOKEN, else server.metrics_token of the
// last good jagad.yaml: asked on every scrape, so a reload changes it.
func (d *daemon) metricsToken(c *serveConfig) string {
	if c.metricsToken != "" {
		return c.metricsToken
	}
	if d.rec != nil {
		if f := d.rec.LastGood(); f != nil {
			return f.Server.MetricsToken
		}
	}
	return ""
}

// health reports the fields of GET /api/health honestly. legacy_storage is
// always false: Jagad does not support the original's JAGAD_S3_* env storage
// (providers come from jagad.yaml or the API), so none is ever configured.
func (d *daemon) health() api.Health {
	kr, _ := d.keys.keyring()
	h := api.Health{Encryption: kr != nil, LegacyStorage: false}
	_ = d.store.View(func(tx *state.Tx) error {
		ps, err := state.List[state.Provider](tx)
		h.Providers = len(ps) > 0
		return err
	})
	return h
}
