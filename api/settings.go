package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// fileOnlySettings name programs the daemon runs; only jagad.yaml (which
// lives with the operator) may set them, never the API.
var fileOnlySettings = []string{
	state.SettingPgDumpPath, state.SettingPgRestorePath, state.SettingMysqldumpPath, state.SettingMysqlPath,
}

// settingsView is every value plus "version".
func (s *server) settingsView(st state.Settings) map[string]string {
	out := maps.Clone(st.Values)
	if out == nil {
		out = map[string]string{}
	}
	out["version"] = s.version
	return out
}

func (s *server) getSettings(_ *http.Request, _ httprouter.Params) (any, error) {
	var st state.Settings
	err := s.store.View(func(tx *state.Tx) (err error) {
		st, err = tx.Settings()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return s.settingsView(st), nil
}

// putSettings applies a partial map of string values and returns the whole
// map. Unknown keys are 400 "unknown setting: KEY"; keys jagad.yaml sets are 409.
func (s *server) putSettings(r *http.Request, _ httprouter.Params) (any, error) {
	var raw map[string]json.RawMessage
	if err := decode(r, &raw); err != nil {
		return nil, err
	}
	keys := slices.Sorted(maps.Keys(raw))
	in := make(map[string]string, len(raw))
	for _, k := range keys {
		switch {
		case k == "version":
			return nil, fault.Invalid("setting version is read-only")
		case !slices.Contains(config.SettingKeys(), k):
			return nil, fault.Invalid("unknown setting: " + k)
		case slices.Contains(fileOnlySettings, k):
			return nil, fault.Forbidden(fmt.Sprintf("setting %s names a program the daemon runs; set it in jagad.yaml", k))
		}
		var v string
		if err := json.Unmarshal(raw[k], &v); err != nil {
			return nil, fieldErr(k, "expected string")
		}
		in[k] = v
	}
	if err := fieldErrors(config.ValidateSettings(in), nil); err != nil {
		return nil, err
	}
	var st state.Settings
	err := s.store.Update(func(tx *state.Tx) (err error) {
		if st, err = tx.Settings(); err != nil {
			return fmt.Errorf("read settings: %w", err)
		}
		for _, k := range keys {
			if slices.Contains(st.FileKeys, k) {
				return fault.Conflict(fmt.Sprintf("setting %q is managed by jagad.yaml; change it there", k))
			}
		}
		st = st.With(in)
		return tx.PutSettings(st)
	})
	if err != nil {
		return nil, err
	}
	return s.settingsView(st), nil
}
