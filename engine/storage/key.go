package storage

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const maxKeyLen = 1024 // S3's limit, in bytes

// SafeKey joins parts into an object key, one segment per part. A "/" or "\"
// inside a part becomes "_" (a connection named "eu/prod" stays one segment).
// It refuses empty parts, "." and "..", control characters and invalid UTF-8;
// spaces are allowed.
func SafeKey(parts ...string) (string, error) {
	if len(parts) == 0 {
		return "", errors.New("key: no parts")
	}
	segs := make([]string, len(parts))
	for i, p := range parts {
		segs[i] = strings.NewReplacer("/", "_", `\`, "_").Replace(p)
	}
	key := strings.Join(segs, "/")
	if err := validateKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// validateKey checks a full key: non-empty "/"-separated segments, none "."
// or "..", valid UTF-8 without control characters, at most 1024 bytes, and
// not the name of a local temp file.
func validateKey(key string) error {
	if key == "" {
		return errors.New("key: empty")
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("key: longer than %d bytes", maxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("key %q: invalid UTF-8", key)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("key %q: control character", key)
		}
	}
	segs := strings.Split(key, "/")
	for _, s := range segs {
		switch s {
		case "":
			return fmt.Errorf("key %q: empty segment (leading, trailing or double \"/\")", key)
		case ".", "..":
			return fmt.Errorf("key %q: %q segment", key, s)
		}
	}
	if isTempName(segs[len(segs)-1]) {
		return fmt.Errorf("key %q: reserved temporary-file name", key)
	}
	return nil
}

// validatePrefix checks a List/Cleanup prefix: "" or a key, optionally ending in "/".
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.TrimSuffix(prefix, "/")
	if p == "" {
		return fmt.Errorf("prefix %q: leading \"/\"", prefix)
	}
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." || s == "" {
			return fmt.Errorf("prefix %q: bad segment %q", prefix, s)
		}
	}
	if !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return fmt.Errorf("prefix %q: invalid characters", prefix)
	}
	return nil
}
