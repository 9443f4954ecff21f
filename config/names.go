package config

import (
	"fmt"
	"unicode"
)

// checkVisible rejects the characters that make a name look like another:
// bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
// U+061C) that reorder what is displayed ("Trojan Source"), and the
// invisible ones: every format character (Cf: zero-width spaces and joiners,
// U+FEFF, soft hyphen, tag characters), the other default-ignorable code
// points (Hangul fillers, variation selectors, U+034F), line and paragraph
// separators, and every space but U+0020. Names are identifiers shown in
// logs, lists and object keys; none of these belongs in one.
func checkVisible(name string) error {
	for i, r := range []rune(name) {
		if invisible(r) {
			return fmt.Errorf("must not contain invisible or bidirectional control characters (%U at character %d)", r, i+1)
		}
	}
	return nil
}

func invisible(r rune) bool {
	switch {
	case r == ' ':
		return false
	case unicode.In(r, unicode.Cf, unicode.Zs, unicode.Zl, unicode.Zp,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
		return true
	}
	return false
}
