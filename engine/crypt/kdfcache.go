package crypt

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime/debug"
	"sync"

	"golang.org/x/crypto/argon2"
)

// DefaultKDFCacheSize is how many Argon2id outputs a KDFCache keeps.
const DefaultKDFCacheSize = 8

// KDFCache keeps Argon2id outputs of passphrase keys, so that a process
// stretches each passphrase once per key salt rather than once per object
// (FORMAT.md §3.5): for writing, it draws one key salt per passphrase and
// parameters and reuses it for every object; for reading, it remembers the
// outputs of the key salts it met, most recently used first, at most its
// size. It runs one Argon2id at a time, so that concurrent jobs never hold
// two of its 64 MiB blocks. A KDFCache is safe for concurrent use and may
// outlive keyrings: keyrings rebuilt from the same configuration share it.
// It holds key material and never prints it.
type KDFCache struct {
	size int
	kdf  func(pass, salt []byte, p argon2Params) []byte // argon2Key; tests count calls

	mu      sync.Mutex
	entries []*kdfEntry // most recently used first

	derive sync.Mutex // held during an Argon2id run
}

// kdfEntry is one cached Argon2id output.
type kdfEntry struct {
	pass   []byte // the passphrase (a keyring entry's bytes)
	salt   []byte // the key salt (type 0x04) or stanza salt (type 0x02)
	params argon2Params
	key    []byte // Argon2id(pass, salt, params), 32 bytes
	writer bool   // this process drew salt for new objects
}

// NewKDFCache returns a cache of at most size Argon2id outputs (at least 1).
func NewKDFCache(size int) *KDFCache {
	return &KDFCache{size: max(size, 1), kdf: argon2Key}
}

// String keeps the cache's key material out of logs.
func (c *KDFCache) String() string { return "KDFCache{<redacted>}" }

// GoString keeps %#v from printing key material.
func (c *KDFCache) GoString() string { return c.String() }

// writerKey returns the key salt new objects sealed with pass and p carry
// and its Argon2id output, drawing the salt and deriving on first use.
func (c *KDFCache) writerKey(pass []byte, p argon2Params) (salt, key []byte, err error) {
	if c == nil {
		c = NewKDFCache(1)
	}
	match := func(e *kdfEntry) bool { return e.writer && e.params == p && samePass(e.pass, pass) }
	if e := c.lookup(match); e != nil {
		return e.salt, e.key, nil
	}
	c.derive.Lock()
	defer c.derive.Unlock()
	if e := c.lookup(match); e != nil { // derived while this call waited
		return e.salt, e.key, nil
	}
	salt = make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, fmt.Errorf("crypt: random: %w", err)
	}
	e := &kdfEntry{pass: pass, salt: salt, params: p, key: c.kdf(pass, salt, p), writer: true}
	c.insert(e)
	return e.salt, e.key, nil
}

// key returns Argon2id(pass, salt, p), from the cache when it is there.
func (c *KDFCache) key(pass, salt []byte, p argon2Params) []byte {
	if c == nil {
		return argon2Key(pass, salt, p)
	}
	match := func(e *kdfEntry) bool {
		return e.params == p && subtle.ConstantTimeCompare(e.salt, salt) == 1 && samePass(e.pass, pass)
	}
	if e := c.lookup(match); e != nil {
		return e.key
	}
	c.derive.Lock()
	defer c.derive.Unlock()
	if e := c.lookup(match); e != nil {
		return e.key
	}
	e := &kdfEntry{pass: pass, salt: append([]byte(nil), salt...), params: p, key: c.kdf(pass, salt, p)}
	c.insert(e)
	return e.key
}

// lookup returns the first entry match accepts and makes it the most
// recently used, or nil.
func (c *KDFCache) lookup(match func(*kdfEntry) bool) *kdfEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if match(e) {
			copy(c.entries[1:i+1], c.entries[:i])
			c.entries[0] = e
			return e
		}
	}
	return nil
}

// insert adds e as the most recently used entry, dropping the least
// recently used beyond the cache's size.
func (c *KDFCache) insert(e *kdfEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) < c.size {
		c.entries = append(c.entries, nil)
	}
	copy(c.entries[1:], c.entries)
	c.entries[0] = e
}

// samePass compares passphrases in constant time for equal lengths.
func samePass(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// argon2Key runs Argon2id with a 32-byte output.
func argon2Key(pass, salt []byte, p argon2Params) []byte {
	// Collect pending garbage (start-up's, an admin login's Argon2 hash)
	// and return its pages to the OS: Argon2's 64 MiB are one contiguous
	// allocation that freed small-object pages cannot hold, so the process
	// peaks at what it keeps plus those 64 MiB.
	debug.FreeOSMemory()
	k := argon2.IDKey(pass, salt, p.time, p.memoryKiB, p.threads, KeySize)
	// Argon2id's memory (64 MiB by default) is garbage now. Left to the GC
	// it raises the heap goal and the pipeline's buffers get fresh pages
	// before it is collected (engine/bench/rss.sh, PERF-NOTES.md).
	// Collecting and returning it here costs one GC per derivation, next
	// to Argon2's own ~0.1–0.2 CPU-s.
	debug.FreeOSMemory()
	return k
}
