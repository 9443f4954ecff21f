package api

import (
	"strings"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state/fault"
)

// fieldErrors turns the config validators' findings into one 400 that names
// every bad field. Nil when errs is empty.
// rename maps the file's field names to the API's ("type" → "notif_type");
// a key ending in "." renames a prefix ("config." → "config_json.").
func fieldErrors(errs []config.FieldError, rename map[string]string) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		e.Field = renameField(e.Field, rename)
		switch {
		case e.Field == "":
			msgs = append(msgs, e.Message)
		case strings.HasPrefix(e.Message, "is required"):
			msgs = append(msgs, `missing required field "`+e.Field+`"`+strings.TrimPrefix(e.Message, "is required"))
		default:
			msgs = append(msgs, `invalid value for field "`+e.Field+`": `+e.Message)
		}
	}
	return fault.Invalid(strings.Join(msgs, "; "))
}

// setStr copies *src into dst when the field was sent.
func setStr(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

func setInt(dst *int, src *int) {
	if src != nil {
		*dst = *src
	}
}

func setBool(dst *bool, src *bool) {
	if src != nil {
		*dst = *src
	}
}

func renameField(f string, rename map[string]string) string {
	if to, ok := rename[f]; ok {
		return to
	}
	for from, to := range rename {
		if strings.HasSuffix(from, ".") && strings.HasPrefix(f, from) {
			return to + strings.TrimPrefix(f, from)
		}
	}
	return f
}
