package state

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeyFile is the name of the generated master key inside the data dir.
const MasterKeyFile = "master.key"

// LoadOrCreateMasterKey returns the 32-byte master key.
//
// fromEnv (JAGAD_MASTER_KEY) wins when set: the base64 encoding of 32 bytes
// is used as is; any other value is a passphrase, hashed with SHA-256.
// Otherwise <dataDir>/master.key (base64) is read, or created with 32 random
// bytes and mode 0600; generated is then true so the caller can warn that
// the key must be backed up.
func LoadOrCreateMasterKey(dataDir, fromEnv string) (key []byte, generated bool, err error) {
	if fromEnv != "" {
		return keyFromEnv(fromEnv), false, nil
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(key) != masterKeySize {
			return nil, false, fmt.Errorf("master key file %s: not the base64 encoding of %d bytes", path, masterKeySize)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key, err = createMasterKey(dataDir, path)
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

func keyFromEnv(v string) []byte {
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil && len(b) == masterKeySize {
		return b
	}
	sum := sha256.Sum256([]byte(v))
	return sum[:]
}

// createMasterKey writes a new random key; O_EXCL makes a concurrent second
// start fail instead of overwriting the key the first one uses.
func createMasterKey(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	key := make([]byte, masterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create master key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("create master key: %w", werr)
	}
	return key, nil
}
