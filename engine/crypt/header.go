package crypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Fixed header layout (FORMAT.md §2).
const (
	magicPrefix  = "JAGAD\x00E" // followed by the version byte
	version1     = 0x01
	suiteGCMHKDF = 0x01 // AES-256-GCM chunks and key wrap, HKDF-SHA-256, HMAC-SHA-256
	chunkSize    = 64 * 1024
	tagSize      = 16
	saltSize     = 32
	prefixSize   = 7
	macSize      = 32
	fixedSize    = 8 + 1 + 1 + 4 + saltSize + prefixSize + 1 // 54

	stanzaKey        = 0x01
	stanzaPassphrase = 0x02
	stanzaAge        = 0x03
	// stanzaPassphrase2 is a passphrase key stretched once per key salt
	// (FORMAT.md §3.5); writers use it instead of stanzaPassphrase.
	stanzaPassphrase2 = 0x04

	maxStanzaLen = 0xFFFF
	wrappedSize  = KeySize + tagSize // 48
)

// keyStanza is a keyring stanza (type 0x01 or 0x02).
type keyStanza struct {
	typ     byte
	id      string
	salt    []byte       // stanza salt: random per object
	keySalt []byte       // type 0x04 only: Argon2id salt, one per writing process and key
	params  argon2Params // types 0x02 and 0x04
	wrapped []byte
}

// isPassphrase reports whether a keyring stanza type is a passphrase key.
func isPassphrase(typ byte) bool { return typ == stanzaPassphrase || typ == stanzaPassphrase2 }

// header is a parsed or built .jgd header.
type header struct {
	raw         []byte // every header byte, MAC included
	salt        []byte
	noncePrefix []byte
	key         keyStanza
	age         []byte // age file of the recovery stanza, nil if none
}

// HeaderInfo describes an object's header; reading it needs no key.
type HeaderInfo struct {
	Version     int
	ChunkSize   int
	KeyID       string // keyring key id the data key is wrapped with
	Passphrase  bool   // the key id names a passphrase (Argon2id) key
	HasRecovery bool   // the data key is also wrapped to an age recipient
	HeaderSize  int    // bytes before the first chunk
}

// ReadHeaderInfo reads and checks the structure of an object's header (not
// its MAC, which needs the key) and consumes exactly the header bytes.
func ReadHeaderInfo(src io.Reader) (HeaderInfo, error) {
	h, err := readHeader(src)
	if err != nil {
		return HeaderInfo{}, err
	}
	return h.info(), nil
}

func (h *header) info() HeaderInfo {
	return HeaderInfo{
		Version:     version1,
		ChunkSize:   chunkSize,
		KeyID:       h.key.id,
		Passphrase:  isPassphrase(h.key.typ),
		HasRecovery: h.age != nil,
		HeaderSize:  len(h.raw),
	}
}

// marshalBody encodes everything before the MAC.
func (h *header) marshalBody() []byte {
	b := make([]byte, 0, 256+len(h.age))
	b = append(b, magicPrefix...)
	b = append(b, version1, suiteGCMHKDF, 0)
	b = binary.BigEndian.AppendUint32(b, chunkSize)
	b = append(b, h.salt...)
	b = append(b, h.noncePrefix...)
	n := byte(1)
	if h.age != nil {
		n = 2
	}
	b = append(b, n)
	b = appendStanza(b, h.key.typ, h.key.marshal())
	if h.age != nil {
		b = appendStanza(b, stanzaAge, h.age)
	}
	return b
}

func appendStanza(b []byte, typ byte, body []byte) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func (s *keyStanza) marshal() []byte {
	b := make([]byte, 0, 1+len(s.id)+2*saltSize+9+wrappedSize)
	b = append(b, byte(len(s.id)))
	b = append(b, s.id...)
	if s.typ == stanzaPassphrase2 {
		b = append(b, s.keySalt...)
	} else {
		b = append(b, s.salt...)
	}
	if isPassphrase(s.typ) {
		b = binary.BigEndian.AppendUint32(b, s.params.time)
		b = binary.BigEndian.AppendUint32(b, s.params.memoryKiB)
		b = append(b, s.params.threads)
	}
	if s.typ == stanzaPassphrase2 {
		b = append(b, s.salt...)
	}
	return append(b, s.wrapped...)
}

// readFull reads len(p) header bytes; a short read is truncation.
func readFull(r io.Reader, p []byte) error {
	_, err := io.ReadFull(r, p)
	return headerReadErr(err)
}

func headerReadErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("header: %w", ErrTruncated)
	default:
		return fmt.Errorf("read header: %w", err)
	}
}

// readHeader reads exactly one header from r and checks its structure.
func readHeader(r io.Reader) (*header, error) {
	fixed := make([]byte, fixedSize)
	n, err := io.ReadFull(r, fixed[:8])
	if !bytes.HasPrefix([]byte(magicPrefix), fixed[:min(n, len(magicPrefix))]) {
		return nil, ErrFormat
	}
	if err != nil {
		return nil, headerReadErr(err)
	}
	if fixed[7] != version1 {
		return nil, fmt.Errorf("%w: version %d", ErrUnsupported, fixed[7])
	}
	if err := readFull(r, fixed[8:]); err != nil {
		return nil, err
	}
	if err := checkFixed(fixed); err != nil {
		return nil, err
	}
	h := &header{
		salt:        fixed[14 : 14+saltSize],
		noncePrefix: fixed[14+saltSize : 14+saltSize+prefixSize],
	}
	raw := fixed
	count := int(fixed[fixedSize-1])
	if count < 1 || count > 2 {
		return nil, fmt.Errorf("header has %d key stanzas: %w", count, ErrCorrupt)
	}
	for i := range count {
		typ, body, err := readStanza(r)
		if err != nil {
			return nil, err
		}
		raw = appendStanza(raw, typ, body)
		if err := h.addStanza(i, typ, body); err != nil {
			return nil, err
		}
	}
	mac := make([]byte, macSize)
	if err := readFull(r, mac); err != nil {
		return nil, err
	}
	h.raw = append(raw, mac...)
	return h, nil
}

func checkFixed(f []byte) error {
	if f[8] != suiteGCMHKDF {
		return fmt.Errorf("%w: suite %d", ErrUnsupported, f[8])
	}
	if f[9] != 0 {
		return fmt.Errorf("%w: header flags %#02x", ErrUnsupported, f[9])
	}
	if cs := binary.BigEndian.Uint32(f[10:14]); cs != chunkSize {
		return fmt.Errorf("%w: chunk size %d (want %d)", ErrUnsupported, cs, chunkSize)
	}
	return nil
}

func readStanza(r io.Reader) (byte, []byte, error) {
	var sh [3]byte
	if err := readFull(r, sh[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, binary.BigEndian.Uint16(sh[1:]))
	if err := readFull(r, body); err != nil {
		return 0, nil, err
	}
	return sh[0], body, nil
}

// addStanza records stanza i: the first must be a keyring stanza, the
// second (if any) the age recovery stanza.
func (h *header) addStanza(i int, typ byte, body []byte) error {
	switch {
	case typ != stanzaKey && !isPassphrase(typ) && typ != stanzaAge:
		return fmt.Errorf("%w: stanza type %#02x", ErrUnsupported, typ)
	case i == 0 && typ == stanzaAge, i == 1 && typ != stanzaAge:
		return fmt.Errorf("stanza %d has type %#02x out of order: %w", i, typ, ErrCorrupt)
	case typ == stanzaAge:
		if len(body) == 0 {
			return fmt.Errorf("empty recovery stanza: %w", ErrCorrupt)
		}
		h.age = body
		return nil
	}
	s, err := parseKeyStanza(typ, body)
	if err != nil {
		return err
	}
	h.key = s
	return nil
}

func parseKeyStanza(typ byte, b []byte) (keyStanza, error) {
	bad := fmt.Errorf("malformed key stanza: %w", ErrCorrupt)
	if len(b) < 1 {
		return keyStanza{}, bad
	}
	idLen := int(b[0])
	want := 1 + idLen + saltSize + wrappedSize
	switch typ {
	case stanzaPassphrase:
		want += 9
	case stanzaPassphrase2:
		want += 9 + saltSize
	}
	if idLen == 0 || len(b) != want {
		return keyStanza{}, bad
	}
	s := keyStanza{typ: typ, id: string(b[1 : 1+idLen])}
	b = b[1+idLen:]
	if typ == stanzaPassphrase2 {
		s.keySalt, b = b[:saltSize], b[saltSize:]
	} else {
		s.salt, b = b[:saltSize], b[saltSize:]
	}
	if isPassphrase(typ) {
		s.params = argon2Params{
			time:      binary.BigEndian.Uint32(b[0:4]),
			memoryKiB: binary.BigEndian.Uint32(b[4:8]),
			threads:   b[8],
		}
		if err := s.params.validate(); err != nil {
			return keyStanza{}, err
		}
		b = b[9:]
	}
	if typ == stanzaPassphrase2 {
		s.salt, b = b[:saltSize], b[saltSize:]
	}
	s.wrapped = b
	return s, nil
}
