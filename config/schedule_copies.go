package config

import (
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// CopyTarget is one extra destination of a schedule's backups:
//
//	copies_to: [offsite, {storage: vault, keep_monthly: 12}]
//
// A bare name is {storage: name}. A target that sets any retention key has
// exactly that policy on its destination (unset keys are 0, as in a
// schedule); one that sets none follows the schedule's policy.
type CopyTarget struct {
	Storage       string   `yaml:"storage"`
	RetentionFull *int     `yaml:"retention_full"`
	KeepDaily     int      `yaml:"keep_daily"`
	KeepWeekly    int      `yaml:"keep_weekly"`
	KeepMonthly   int      `yaml:"keep_monthly"`
	KeepYearly    int      `yaml:"keep_yearly"`
	KeepWithin    Duration `yaml:"keep_within"`
}

var copyTargetType = reflect.TypeFor[CopyTarget]()

// decodeCopyShorthand decodes a scalar list item of copies_to as the
// storage name of a CopyTarget.
func (d *decoder) decodeCopyShorthand(n *yaml.Node, v reflect.Value, path string, depth int) {
	d.meta[path] = fieldMeta{line: n.Line, col: n.Column}
	d.decode(n, v.FieldByName("Storage"), joinPath(path, "storage"), depth+1)
}

// validateCopies checks copies_to on its own: each target names a storage,
// once, other than the schedule's primary storage, with sane retention
// keys. Whether the names exist (and whether an omitted primary, the
// default storage, is repeated) is the file-level pass's.
func validateCopies(s Schedule, errs *fieldErrs) {
	seen := map[string]int{}
	for i, c := range s.CopiesTo {
		field := "copies_to[" + strconv.Itoa(i) + "]"
		if err := refName(c.Storage, true); err != nil {
			errs.addErr(field+".storage", err)
			continue
		}
		if first, dup := seen[c.Storage]; dup {
			errs.add(field+".storage", "duplicate copy destination %q (already copies_to[%d])", c.Storage, first)
		}
		seen[c.Storage] = i
		if s.Storage != "" && c.Storage == s.Storage {
			errs.add(field+".storage", "%q is the schedule's primary storage; copies_to lists the other destinations", c.Storage)
		}
		if c.RetentionFull != nil && *c.RetentionFull < 1 {
			errs.add(field+".retention_full", "must be at least 1, got %d", *c.RetentionFull)
		}
		for _, k := range []struct {
			field string
			v     int
		}{{"keep_daily", c.KeepDaily}, {"keep_weekly", c.KeepWeekly}, {"keep_monthly", c.KeepMonthly}, {"keep_yearly", c.KeepYearly}} {
			if k.v < 0 {
				errs.add(field+"."+k.field, "must not be negative, got %d", k.v)
			}
		}
		if c.KeepWithin < 0 {
			errs.add(field+".keep_within", "must not be negative")
		}
	}
}

// checkCopyRefs reports copies_to names that are not defined, and a copy
// to the default storage of a schedule that omits storage (its primary).
func (c *checker) checkCopyRefs(prefix, lbl string, s Schedule, storage map[string]Storage) {
	primary := s.Storage
	if primary == "" {
		primary = defaultStorage(c.file.Storage)
	}
	for j, t := range s.CopiesTo {
		path := prefix + ".copies_to[" + strconv.Itoa(j) + "].storage"
		if t.Storage == "" || c.skip(path) {
			continue
		}
		if _, ok := storage[t.Storage]; !ok {
			c.errorAt(path, "%s: copies_to: storage %q is not defined", lbl, t.Storage)
			continue
		}
		if s.Storage == "" && t.Storage == primary {
			c.errorAt(path, "%s: copies_to: %q is the default storage, which is this schedule's primary (it sets no storage); copies_to lists the other destinations", lbl, t.Storage)
		}
	}
}

// defaultStorage is the storage a schedule without one uses: the one
// marked is_default, or the only one.
func defaultStorage(all []Storage) string {
	for _, s := range all {
		if s.IsDefault {
			return s.Name
		}
	}
	if len(all) == 1 {
		return all[0].Name
	}
	return ""
}
