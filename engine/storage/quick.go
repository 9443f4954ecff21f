package storage

import (
	"context"
	"fmt"
	"strings"
)

// QuickCheck compares what the store says of key, without reading it, with
// want: the size, and the SHA-256 when the store reports the object's (an S3
// object stored in one part or by a server-side copy). sha256Checked says
// whether the SHA-256 was compared; when false only the size was, and a
// caller that needs the checksum must read the object. A mismatch wraps
// ErrChecksum; a missing object ErrNotFound.
func QuickCheck(ctx context.Context, st Store, key string, want Expect) (info Info, sha256Checked bool, err error) {
	info, err = st.Stat(ctx, key)
	if err != nil {
		return info, false, fmt.Errorf("quick check %q: %w", key, err)
	}
	if want.Size > 0 && info.Size != want.Size {
		return info, false, fmt.Errorf("quick check %q: stored %d bytes, want %d: %w", key, info.Size, want.Size, ErrChecksum)
	}
	if want.SHA256 == "" || info.SHA256 == "" {
		return info, false, nil
	}
	if !strings.EqualFold(info.SHA256, want.SHA256) {
		return info, true, fmt.Errorf("quick check %q: stored sha256 %s, want %s: %w", key, info.SHA256, want.SHA256, ErrChecksum)
	}
	return info, true, nil
}
