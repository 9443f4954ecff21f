package state

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSettingsDefaultsAndMerge(t *testing.T) {
	s := openMem(t)
	before := maps.Clone(DefaultSettings)
	mustView(t, s, func(tx *Tx) error {
		st, err := tx.Settings()
		if !reflect.DeepEqual(st.Values, DefaultSettings) {
			t.Errorf("unset settings = %v, want defaults", st.Values)
		}
		st.Values["compression"] = "mutated" // must not reach DefaultSettings
		return err
	})
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.PutSettings(Settings{Values: map[string]string{"compression": "zstd", "extra": "x"}, FileKeys: []string{"compression"}})
	})
	mustView(t, s, func(tx *Tx) error {
		st, err := tx.Settings()
		want := maps.Clone(before)
		want["compression"], want["extra"] = "zstd", "x"
		if !reflect.DeepEqual(st.Values, want) || !reflect.DeepEqual(st.FileKeys, []string{"compression"}) {
			t.Errorf("settings = %+v, want values %v", st, want)
		}
		return err
	})
	if !reflect.DeepEqual(DefaultSettings, before) {
		t.Errorf("DefaultSettings changed: %v", DefaultSettings)
	}
}

func TestAdminAndConfigStatus(t *testing.T) {
	s := openMem(t)
	mustView(t, s, func(tx *Tx) error {
		_, err := tx.Admin()
		wantNotFound(t, err)
		cs, err := tx.ConfigStatus()
		if !reflect.DeepEqual(cs, ConfigStatus{}) {
			t.Errorf("config status before first write = %+v, want zero", cs)
		}
		return err
	})
	u := AdminUser{Username: "admin", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", ChangedAt: t0}
	at := t0.Add(time.Minute)
	cs := ConfigStatus{Path: "/etc/jagad.yaml", Generation: 3, LastAppliedAt: &at, Healthy: true,
		History: []ReloadEntry{{Generation: 3, Trigger: "fsnotify", At: at, Result: "applied"}}}
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.PutAdmin(u); err != nil {
			return err
		}
		return tx.PutConfigStatus(cs)
	})
	mustView(t, s, func(tx *Tx) error {
		gu, err := tx.Admin()
		if err != nil || gu != u {
			t.Errorf("admin = %+v, %v", gu, err)
		}
		gcs, err := tx.ConfigStatus()
		if err != nil || !reflect.DeepEqual(gcs, cs) {
			t.Errorf("config status = %+v, %v; want %+v", gcs, err, cs)
		}
		return nil
	})
}

func TestLastGoodConfigSealed(t *testing.T) {
	s := openMem(t)
	err := s.View(func(tx *Tx) error {
		_, err := tx.LastGoodConfig()
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("empty store: err %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := LastGoodConfig{Content: "version: 1\nencryption: {keys: [{id: k1, key: canary-5521}]}\n", Digest: "sha256:ab"}
	if err := s.Update(func(tx *Tx) error { return tx.PutLastGoodConfig(want) }); err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		got, err := tx.LastGoodConfig()
		if err != nil || got != want {
			t.Errorf("got %+v, %v", got, err)
		}
		raw, err := tx.getRaw(keyLastGood)
		if err != nil || strings.Contains(string(raw), "canary-5521") {
			t.Errorf("stored in the clear (err %v): %s", err, raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
