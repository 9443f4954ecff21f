package state

import (
	"fmt"
	"reflect"
)

var secretType = reflect.TypeFor[Secret]()

// hasSecret reports whether a value of type t can contain a Secret (through
// exported or embedded struct fields, pointers, slices, arrays and maps).
// Answers are cached per type.
func (s *sealer) hasSecret(t reflect.Type) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.types[t]; ok {
		return v
	}
	v := reachesSecret(t, map[reflect.Type]bool{})
	s.types[t] = v
	return v
}

// reachesSecret is a depth-first search; a type already on the path adds
// nothing new, so it counts as false there (only the root's answer is cached).
func reachesSecret(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if visiting[t] {
		return false
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.String:
		return t == secretType
	case reflect.Struct:
		for i := range t.NumField() {
			if storedField(t.Field(i)) && reachesSecret(t.Field(i).Type, visiting) {
				return true
			}
		}
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return reachesSecret(t.Elem(), visiting)
	}
	return false
}

// storedField reports whether encoding/json stores f: exported fields, and
// the promoted fields of an embedded unexported struct (not a pointer to one).
func storedField(f reflect.StructField) bool {
	return f.IsExported() || (f.Anonymous && f.Type.Kind() == reflect.Struct)
}

// walk applies f to every Secret reachable from v, which must be settable.
// Pointers, slices and maps on the way are copied before they are changed,
// so values shared with the caller are never modified.
func (s *sealer) walk(v reflect.Value, path string, f func(string) (string, error)) error {
	t := v.Type()
	if !s.hasSecret(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		out, err := f(v.String())
		if err != nil {
			return fmt.Errorf("field %s: %w", path, err)
		}
		v.SetString(out)
	case reflect.Struct:
		for i := range t.NumField() {
			if !storedField(t.Field(i)) {
				continue
			}
			if err := s.walk(v.Field(i), path+"."+t.Field(i).Name, f); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		cp := reflect.New(t.Elem())
		cp.Elem().Set(v.Elem())
		if err := s.walk(cp.Elem(), path, f); err != nil {
			return err
		}
		v.Set(cp)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		cp := reflect.MakeSlice(t, v.Len(), v.Len())
		reflect.Copy(cp, v)
		if err := s.walkElems(cp, path, f); err != nil {
			return err
		}
		v.Set(cp)
	case reflect.Array:
		return s.walkElems(v, path, f)
	case reflect.Map:
		return s.walkMap(v, path, f)
	}
	return nil
}

func (s *sealer) walkElems(v reflect.Value, path string, f func(string) (string, error)) error {
	for i := range v.Len() {
		if err := s.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f); err != nil {
			return err
		}
	}
	return nil
}

func (s *sealer) walkMap(v reflect.Value, path string, f func(string) (string, error)) error {
	if v.IsNil() {
		return nil
	}
	cp := reflect.MakeMapWithSize(v.Type(), v.Len())
	it := v.MapRange()
	for it.Next() {
		ev := reflect.New(v.Type().Elem()).Elem()
		ev.Set(it.Value())
		if err := s.walk(ev, fmt.Sprintf("%s[%v]", path, it.Key()), f); err != nil {
			return err
		}
		cp.SetMapIndex(it.Key(), ev)
	}
	v.Set(cp)
	return nil
}
