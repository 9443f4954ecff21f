package crypt

// Key selection: which keys the daemon's keyring holds and which one seals
// new objects, from jagad.yaml's encryption block and JAGAD_ENCRYPTION_KEY.

// EnvKey is the environment variable a key may come from: the daemon adds
// it to the keyring as key id DefaultKeyID, and "jagad decrypt" and
// "jagad restore" read it when no key file is given.
const EnvKey = "JAGAD_ENCRYPTION_KEY"

// DefaultKeyID is the key id of the key from EnvKey.
const DefaultKeyID = "default"

// KeyConfig is where a keyring's keys come from.
type KeyConfig struct {
	Keys              map[string]string // configured keys by id
	Active            string            // the configured active key id ("" if none)
	RecoveryRecipient string            // "" or an age recipient
	EnvKey            string            // the value of EnvKey ("" if unset)
	// Cache keeps Argon2id outputs across keyrings built from successive
	// configurations (nil: each keyring has its own).
	Cache *KDFCache
}

// SelectKeys applies the selection rules: the environment key joins as id
// "default" unless a configured key has that id, and is active when no
// active key is configured; a single key with none named active is active.
// It returns the keys and the active id ("" when none can be chosen).
func SelectKeys(c KeyConfig) (map[string]string, string) {
	keys := make(map[string]string, len(c.Keys)+1)
	for id, k := range c.Keys {
		keys[id] = k
	}
	active := c.Active
	if c.EnvKey != "" {
		if _, ok := keys[DefaultKeyID]; !ok {
			keys[DefaultKeyID] = c.EnvKey
		}
		if active == "" {
			active = DefaultKeyID
		}
	}
	if active == "" && len(keys) == 1 {
		for id := range keys {
			active = id
		}
	}
	return keys, active
}

// KeyringFor builds the keyring c selects, or nil when c holds no key.
func KeyringFor(c KeyConfig) (*Keyring, error) {
	keys, active := SelectKeys(c)
	if len(keys) == 0 {
		return nil, nil
	}
	return NewKeyringCached(active, keys, c.RecoveryRecipient, c.Cache)
}
