package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/jagad/jagad/api/apierr"
)

// decode reads exactly one JSON value into dst, rejecting unknown fields and
// wrong types with a message that names the field.
func decode(r *http.Request, dst any) error {
	return decodeBody(r, dst, false)
}

// decodeOptional is decode that accepts an empty body (dst stays as it is).
func decodeOptional(r *http.Request, dst any) error {
	return decodeBody(r, dst, true)
}

func decodeBody(r *http.Request, dst any, optional bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) && optional {
			return nil
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return apierr.Invalid("invalid JSON: the body must hold a single JSON value")
	}
	return nil
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
		return apierr.Invalid("request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.Invalid("invalid JSON: unexpected end of input")
	case errors.As(err, &syn):
		return apierr.Errorf(apierr.CodeInvalid, "invalid JSON at offset %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apierr.Errorf(apierr.CodeInvalid, "invalid request body: expected %s", jsonKind(typ.Type))
		}
		return apierr.Errorf(apierr.CodeInvalid, "invalid value for field %q: expected %s", typ.Field, jsonKind(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apierr.Errorf(apierr.CodeInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return apierr.Errorf(apierr.CodeInvalid, "invalid request body: %s", strings.TrimPrefix(err.Error(), "json: "))
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
	return apierr.Errorf(apierr.CodeInvalid, "invalid value for field %q: %s", field, fmt.Sprintf(format, args...))
}

// missing is a 400 for an absent required field.
func missing(field string) error {
	return apierr.Errorf(apierr.CodeInvalid, "missing required field %q", field)
}
