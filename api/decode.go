package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/jagad/jagad/state/fault"
)

// decode reads exactly one JSON value into dst, rejecting unknown fields,
// wrong types and duplicate keys with a message that names the field.
func decode(r *http.Request, dst any) error {
	return decodeBody(r, dst, false)
}

// decodeOptional is decode that accepts an empty body (dst stays as it is).
func decodeOptional(r *http.Request, dst any) error {
	return decodeBody(r, dst, true)
}

func decodeBody(r *http.Request, dst any, optional bool) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) && optional {
			return nil
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.Invalid("invalid JSON: the body must hold a single JSON value")
	}
	// encoding/json lets the later of two equal keys win; refuse them, as
	// the YAML side does. The value is valid JSON by now.
	if key, path := duplicateKey(data[:dec.InputOffset()]); key != "" {
		return fault.Errorf(fault.CodeInvalid, "invalid JSON: duplicate key %q at %s", key, path)
	}
	return nil
}

// readBody reads the whole body (capped by the wrapper's MaxBytesReader)
// into one buffer sized by Content-Length when the client sent one.
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > maxBody {
		n = 511
	}
	buf := make([]byte, 0, n+1) // +1: the read that sees EOF needs room
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
	}
}

func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return fault.Invalid("request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Invalid("invalid JSON: unexpected end of input")
	case errors.As(err, &syn):
		return fault.Errorf(fault.CodeInvalid, "invalid JSON at offset %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fault.Errorf(fault.CodeInvalid, "invalid request body: expected %s", jsonKind(typ.Type))
		}
		return fault.Errorf(fault.CodeInvalid, "invalid value for field %q: expected %s", typ.Field, jsonKind(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fault.Errorf(fault.CodeInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fault.Errorf(fault.CodeInvalid, "invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the JSON type a Go type expects.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

// fieldErr is a 400 naming a field.
func fieldErr(field, format string, args ...any) error {
	return fault.Errorf(fault.CodeInvalid, "invalid value for field %q: %s", field, fmt.Sprintf(format, args...))
}

// missing is a 400 for an absent required field.
func missing(field string) error {
	return fault.Errorf(fault.CodeInvalid, "missing required field %q", field)
}

// dupFrame is one open object or array while scanning for duplicate keys.
type dupFrame struct {
	obj  bool
	keys [][]byte            // the object's keys so far, while few
	set  map[string]struct{} // the object's keys once there are many
	cur  []byte              // the object's current key (for the path)
	idx  int                 // the array's current index (for the path)
}

// linearKeys is how many keys an object holds before duplicateKey switches
// from comparing each key with every earlier one to a map.
const linearKeys = 16

// duplicateKey returns the first key of data that appears twice in one
// object, unescaped, and its path ("a.list[2].b"); "" when there is none.
// data must be valid JSON: a string followed by ':' is then always a key. It
// allocates only for escaped keys and objects of more than linearKeys keys.
func duplicateKey(data []byte) (key, path string) {
	var frames [8]dupFrame // most bodies nest less deeply: no allocation
	stack := frames[:0]
	depth := 0
	for i := 0; i < len(data); {
		switch data[i] {
		case '{', '[':
			if depth == len(stack) {
				stack = append(stack, dupFrame{keys: make([][]byte, 0, linearKeys)})
			}
			f := &stack[depth]
			f.obj, f.keys, f.set, f.cur, f.idx = data[i] == '{', f.keys[:0], nil, nil, 0
			depth++
			i++
		case '}', ']':
			depth--
			i++
		case ',':
			if depth > 0 && !stack[depth-1].obj {
				stack[depth-1].idx++
			}
			i++
		case '"':
			end, escaped := stringEnd(data, i)
			j := end
			for j < len(data) && isSpace(data[j]) {
				j++
			}
			if j == len(data) || data[j] != ':' || depth == 0 {
				i = end // a string value
				continue
			}
			k := data[i+1 : end-1]
			if escaped {
				var s string
				if err := json.Unmarshal(data[i:end], &s); err != nil {
					return "", "" // not valid JSON after all: the decoder reports it
				}
				k = []byte(s)
			}
			f := &stack[depth-1]
			if f.seen(k) {
				return string(k), dupPath(stack[:depth-1], k)
			}
			f.cur = k
			i = j + 1
		default:
			i++
		}
	}
	return "", ""
}

// seen reports whether the object had key k before, and records it.
func (f *dupFrame) seen(k []byte) bool {
	if f.set != nil {
		if _, ok := f.set[string(k)]; ok {
			return true
		}
		f.set[string(k)] = struct{}{}
		return false
	}
	for _, old := range f.keys {
		if bytes.Equal(old, k) {
			return true
		}
	}
	f.keys = append(f.keys, k)
	if len(f.keys) > linearKeys {
		f.set = make(map[string]struct{}, 2*linearKeys)
		for _, old := range f.keys {
			f.set[string(old)] = struct{}{}
		}
	}
	return false
}

// stringEnd returns the index just past the string starting at data[i] (a
// quote) and whether it holds escapes.
func stringEnd(data []byte, i int) (end int, escaped bool) {
	for j := i + 1; ; {
		q := bytes.IndexByte(data[j:], '"')
		if q < 0 {
			return len(data), escaped
		}
		q += j
		if bs := bytes.IndexByte(data[j:q], '\\'); bs < 0 {
			return q + 1, escaped
		} else {
			escaped = true
			j += bs + 2 // skip the escape and the character it escapes
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// dupPath names where key k of the innermost object is: "a.list[2].k".
func dupPath(outer []dupFrame, k []byte) string {
	var b strings.Builder
	for _, f := range outer {
		if f.obj {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(f.cur)
		} else {
			b.WriteString("[" + strconv.Itoa(f.idx) + "]")
		}
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.Write(k)
	return b.String()
}
