// Package word replaces a value in text only where it stands as a word of
// its own, so a short value does not cut letters out of longer words. It is
// pure (the standard library only): config uses it to put placeholders in
// place of expanded values, the engine's redactors to scrub short secrets.
package word

import "strings"

// Byte reports whether c is part of a word.
type Byte func(c byte) bool

// Alnum counts ASCII letters and digits and every non-ASCII byte (so a
// multi-byte letter is never split) as word bytes.
func Alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// Ident is Alnum plus '_', the bytes of an identifier or an environment
// variable name.
func Ident(c byte) bool { return c == '_' || Alnum(c) }

// Replace returns s with every occurrence of old that has no word byte
// (as inWord says) directly before or after it replaced by repl. The bytes
// around an occurrence are those of s itself, so an occurrence that
// overlaps one left in place is judged on its own neighbours.
func Replace(s, old, repl string, inWord Byte) string {
	if old == "" {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is written
	for from := 0; ; {
		i := strings.Index(s[from:], old)
		if i < 0 {
			b.WriteString(s[done:])
			return b.String()
		}
		i += from
		end := i + len(old)
		if (i > 0 && inWord(s[i-1])) || (end < len(s) && inWord(s[end])) {
			from = i + 1
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(repl)
		done, from = end, end
	}
}
