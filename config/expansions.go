package config

import (
	"slices"
	"strconv"
	"strings"

	"github.com/jagad/jagad/config/word"
)

// Expansions records what the loader expanded, so that nothing it resolved
// is ever shown: messages quote the ${...} reference instead of the value it
// took, and a plan shows a field that came from an expansion as the file
// writes it. A document's author chooses which field holds a reference
// (a name, a host, a time zone), so every value that came from the
// environment or a file is treated as a secret, wherever it lands.
//
// The zero value and nil record nothing and redact nothing.
type Expansions struct {
	fields map[string]expandedField // path ("connections[0].host") → the field
	// byLen lists the distinct fields that hold a secret (at most
	// maxFields), secrets the distinct values that came from the
	// environment or a file; each longest value first, so that a value
	// that contains another is replaced before it.
	byLen   []expandedField
	secrets []secretValue
	// at maps a position to the secret-holding fields found there: a
	// diagnostic at that position is about them.
	at map[[2]int][]expandedField
	// literal is the text of every scalar of the document, joined by NUL:
	// what the document's author wrote is no secret, and looking for it
	// in a message would tell the author whether a secret contains it.
	literal string
}

// expandedField is one scalar that held a ${...} reference.
type expandedField struct {
	raw     string // the text in the file: "db-${ENV}.example.com"
	value   string // what it expanded to
	secret  bool   // part of the value came from the environment or a file
	secrets []secretValue
}

// secretValue is the value of one reference that came from the environment
// or a file (a ${VAR:-default} that took its default is written in the file
// and is no secret).
type secretValue struct {
	ref   string // "${DB_PASS}"
	value string
}

// fragmentLen is the length of the shortest run of a secret that is
// looked for inside a message when the whole value is not there (a
// validator may quote one token or a truncated prefix of a value).
const fragmentLen = 8

// maxFields bounds the field values Redact looks for in one message; past
// it, values are still replaced reference by reference.
const maxFields = 1000

func (x *Expansions) add(path, raw string, res expansion) {
	if x == nil {
		return
	}
	if x.fields == nil {
		x.fields = map[string]expandedField{}
	}
	f := expandedField{raw: raw, value: res.value, secret: len(res.secrets) > 0, secrets: res.secrets}
	x.fields[path] = f
	if f.secret && len(x.byLen) < maxFields && !slices.ContainsFunc(x.byLen, f.same) {
		x.byLen = append(x.byLen, f)
	}
	for _, s := range res.secrets {
		if !slices.Contains(x.secrets, s) {
			x.secrets = append(x.secrets, s)
		}
	}
}

func (f expandedField) same(g expandedField) bool { return f.raw == g.raw && f.value == g.value }

// locate records where each secret-holding field is (the decoder's
// positions) and the document's literal text.
func (x *Expansions) locate(pos func(path string) (line, col int, ok bool), literal string) {
	if x == nil {
		return
	}
	x.literal = literal
	for path, f := range x.fields {
		line, col, ok := pos(path)
		if !f.secret || !ok {
			continue
		}
		if x.at == nil {
			x.at = map[[2]int][]expandedField{}
		}
		x.at[[2]int{line, col}] = append(x.at[[2]int{line, col}], f)
	}
}

// finish orders the values longest first, once everything is recorded.
func (x *Expansions) finish() {
	if x == nil {
		return
	}
	slices.SortStableFunc(x.byLen, func(a, b expandedField) int { return len(b.value) - len(a.value) })
	slices.SortStableFunc(x.secrets, func(a, b secretValue) int { return len(b.value) - len(a.value) })
}

// Written returns the text the file has at path ("connections[0].name")
// when that value came from a ${...} expansion; ok is false for a literal
// value (or one the file does not set).
func (x *Expansions) Written(path string) (text string, ok bool) {
	if x == nil {
		return "", false
	}
	f, ok := x.fields[path]
	return f.raw, ok
}

// Redact returns s with every value that came from an expansion replaced by
// the text the file has for it: a field's whole value by the field's text
// (`"db-${ENV}.example.com"`), the value of one reference by the reference
// (`${ENV}`), in plain and in Go-quoted form. Short secrets (under 4 bytes)
// are replaced only as whole words, so that prose keeps its letters. When
// part of a secret remains after that (a validator quoted one token or a
// truncated prefix of it), the message is cut before it and says that the
// rest is withheld.
func (x *Expansions) Redact(s string) string {
	return x.redact(s, nil)
}

// redact is Redact for a message about the fields in about: a word of at
// least 3 bytes that is part of one of their secrets (a validator split the
// value into tokens) withholds the message too.
func (x *Expansions) redact(s string, about []expandedField) string {
	if x == nil || len(x.fields) == 0 || s == "" {
		return s
	}
	// Replacements go in behind placeholders, so that a shorter value
	// cannot match inside a reference an earlier replacement put in.
	var with []string
	placeholder := func(i int) string {
		return "\x00" + string(rune(0xE000+i/256)) + string(rune(0xE000+i%256)) + "\x00"
	}
	put := func(text string) string {
		with = append(with, text)
		return placeholder(len(with) - 1)
	}
	for _, f := range x.byLen {
		s = replaceValue(s, f.value, f.raw, put)
	}
	for _, v := range x.secrets {
		s = replaceValue(s, v.value, v.ref, put)
	}
	if at, ref := x.leak(s, about); at >= 0 {
		s = withheld(s[:at], ref)
	}
	for i, text := range with {
		s = strings.ReplaceAll(s, placeholder(i), text)
	}
	return s
}

// leak returns where in s a part of a secret starts, and the reference of
// that secret, or -1: a run of fragmentLen bytes of any secret (or all of a
// shorter one), or a word of 3 bytes or more of a secret of the fields the
// message is about. Parts that the document itself contains do not count:
// the author knows them, and withholding a message because of them would
// tell the author whether a secret contains what they wrote.
func (x *Expansions) leak(s string, about []expandedField) (int, string) {
	at, ref := -1, ""
	for _, v := range x.secrets {
		if i := x.fragmentAt(s, v.value); i >= 0 && (at < 0 || i < at) {
			at, ref = i, v.ref
		}
	}
	for _, f := range about {
		for _, v := range f.secrets {
			if i := x.wordAt(s, v.value); i >= 0 && (at < 0 || i < at) {
				at, ref = i, v.ref
			}
		}
	}
	return at, ref
}

// RedactError returns err, or an error whose message is Redact(err.Error())
// when that differs; the original stays reachable with errors.Unwrap for
// errors.Is and errors.As, and must not be printed.
func (x *Expansions) RedactError(err error) error {
	if err == nil {
		return nil
	}
	msg := x.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactReport redacts the message of every diagnostic; one at the
// position of a field that holds a secret is about that field.
func (x *Expansions) redactReport(rep *Report) {
	if x == nil {
		return
	}
	for i := range rep.Diagnostics {
		d := &rep.Diagnostics[i]
		d.Message = x.redact(d.Message, x.at[[2]int{d.Line, d.Col}])
	}
}

// replaceValue replaces value in s by put(text): its Go-quoted form by the
// quoted text, its escaped inner form and its plain form by the text.
func replaceValue(s, value, text string, put func(string) string) string {
	if value == "" {
		return s
	}
	q := strconv.Quote(value)
	if strings.Contains(s, q) {
		s = strings.ReplaceAll(s, q, put(strconv.Quote(text)))
	}
	if inner := q[1 : len(q)-1]; inner != value && strings.Contains(s, inner) {
		s = strings.ReplaceAll(s, inner, put(text))
	}
	if len(value) >= 4 {
		if strings.Contains(s, value) {
			s = strings.ReplaceAll(s, value, put(text))
		}
		return s
	}
	return word.Replace(s, value, put(text), word.Ident)
}

// isWordByte reports whether s[i] exists and is part of a word (letters,
// digits, '_').
func isWordByte(s string, i int) bool {
	return i >= 0 && i < len(s) && word.Ident(s[i])
}

// fragmentAt returns where in s part of secret starts (a run of
// fragmentLen bytes of it, or all of a shorter secret of at least 4
// bytes, plain or Go-escaped) that the document does not contain, or -1.
func (x *Expansions) fragmentAt(s, secret string) int {
	if len(secret) < 4 {
		return -1
	}
	at := -1
	for _, form := range secretForms(secret) {
		n := min(len(form), fragmentLen)
		for i := 0; i+n <= len(s) && (at < 0 || i < at); i++ {
			if part := s[i : i+n]; strings.Contains(form, part) && !strings.Contains(x.literal, part) {
				at = i
				break
			}
		}
	}
	return at
}

// wordAt returns where in s a word (letters, digits, '_') of at least 3
// bytes starts that is part of secret and not of the document, or -1.
func (x *Expansions) wordAt(s, secret string) int {
	forms := secretForms(secret)
	for i := 0; i < len(s); {
		if !isWordByte(s, i) {
			i++
			continue
		}
		j := i
		for j < len(s) && isWordByte(s, j) {
			j++
		}
		if w := s[i:j]; len(w) >= 3 && !strings.Contains(x.literal, w) {
			for _, form := range forms {
				if strings.Contains(form, w) {
					return i
				}
			}
		}
		i = j
	}
	return -1
}

// secretForms returns a secret as it may appear in a message: plain and,
// when that differs, Go-escaped (as %q writes it).
func secretForms(secret string) []string {
	forms := []string{secret}
	if q := strconv.Quote(secret); q[1:len(q)-1] != secret {
		forms = append(forms, q[1:len(q)-1])
	}
	return forms
}

// withheld ends a message cut before part of a secret: what comes before
// the last ": " of head is kept (it names the field), the rest is dropped.
func withheld(head, ref string) string {
	if i := strings.LastIndex(head, ": "); i >= 0 {
		head = head[:i+2]
	} else {
		head = ""
	}
	return head + "(message withheld: it would show part of the value of " + ref + ")"
}
