package main

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/jagad/jagad/api"
	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/engine"
	"github.com/jagad/jagad/engine/crypt"
	"github.com/jagad/jagad/reconcile"
	"github.com/jagad/jagad/state"
)

// keySource hands the engine the keyring of the last accepted jagad.yaml,
// plus JAGAD_ENCRYPTION_KEY as key id "default".
type keySource struct {
	envKey string
	mu     sync.Mutex
	enc    *config.Encryption
	kr     *crypt.Keyring
	err    error
	built  bool
}

func newKeySource(envKey string) *keySource { return &keySource{envKey: envKey} }

func (k *keySource) setFile(f *config.File) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.enc, k.built = f.Encryption, false
}

// keyring returns the current keyring, or nil when no key is configured.
func (k *keySource) keyring() (*crypt.Keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.built {
		k.kr, k.err = buildKeyring(k.enc, k.envKey)
		k.built = true
	}
	return k.kr, k.err
}

// buildKeyring applies crypt's key-selection rules to jagad.yaml's
// encryption block and JAGAD_ENCRYPTION_KEY.
func buildKeyring(enc *config.Encryption, envKey string) (*crypt.Keyring, error) {
	c := crypt.KeyConfig{EnvKey: envKey}
	if enc != nil {
		c.Keys = make(map[string]string, len(enc.Keys))
		for _, key := range enc.Keys {
			c.Keys[key.ID] = key.Key
		}
		c.Active, c.RecoveryRecipient = enc.ActiveKey, enc.RecoveryRecipient
	}
	return crypt.KeyringFor(c)
}

// metricsToken is JAGAD_METRICS_TOKEN, else server.metrics_token of the
// last good jagad.yaml: asked on every scrape, so a reload changes it.
func (d *daemon) metricsToken(c *serveConfig) string {
	if c.metricsToken != "" {
		return c.metricsToken
	}
	if d.rec != nil {
		if f := d.rec.LastGood(); f != nil {
			return f.Server.MetricsToken
		}
	}
	return ""
}

// health reports the fields of GET /api/health honestly. legacy_storage is
// always false: Jagad does not support the original's JAGAD_S3_* env storage
// (providers come from jagad.yaml or the API), so none is ever configured.
func (d *daemon) health() api.Health {
	kr, _ := d.keys.keyring()
	h := api.Health{Encryption: kr != nil, LegacyStorage: false}
	_ = d.store.View(func(tx *state.Tx) error {
		ps, err := state.List[state.Provider](tx)
		h.Providers = len(ps) > 0
		return err
	})
	return h
}

// engineAdapter presents the engine to the API.
type engineAdapter struct{ e *engine.Engine }

var _ api.Engine = engineAdapter{}

func (a engineAdapter) StartBackup(ctx context.Context, r api.BackupRequest) (state.Backup, error) {
	return a.e.StartBackup(ctx, engine.BackupRequest{
		ConnectionID: r.ConnectionID, DatabaseID: r.DatabaseID, BackupType: r.BackupType,
		ScheduleID: r.ScheduleID, StorageProviderID: r.StorageProviderID, NotifTargetIDs: r.NotifTargetIDs,
		NotifyOnSuccess: r.NotifyOnSuccess, NotifyOnFailure: r.NotifyOnFailure,
	})
}
func (a engineAdapter) DeleteBackup(ctx context.Context, id string) error {
	return a.e.DeleteBackup(ctx, id)
}
func (a engineAdapter) OpenBackup(ctx context.Context, id string) (io.ReadCloser, int64, error) {
	return a.e.OpenBackup(ctx, id)
}
func (a engineAdapter) Verify(ctx context.Context, id string) error { return a.e.Verify(ctx, id) }
func (a engineAdapter) Restore(ctx context.Context, id string, r api.RestoreRequest) (state.Restore, error) {
	return a.e.Restore(ctx, id, engine.RestoreRequest{
		TargetConnection: r.TargetConnection, TargetDatabase: r.TargetDatabase, DropExisting: r.DropExisting,
		NoPrivileges: r.NoPrivileges, RestoreType: r.RestoreType,
	})
}
func (a engineAdapter) RunSchedule(ctx context.Context, id string) error {
	return a.e.RunSchedule(ctx, id)
}
func (a engineAdapter) TestStorage(ctx context.Context, id string) error {
	return a.e.TestStorage(ctx, id)
}
func (a engineAdapter) TestNotification(ctx context.Context, id string) error {
	return a.e.TestNotification(ctx, id)
}
func (a engineAdapter) ScheduleInfo(id string) (next, last *time.Time, lastStatus string) {
	return a.e.ScheduleInfo(id)
}

// configAdapter presents the reconciler to the API.
type configAdapter struct{ r *reconcile.Reconciler }

var _ api.ConfigController = configAdapter{}

func (a configAdapter) Status() (state.ConfigStatus, error) { return a.r.Status(), nil }

func (a configAdapter) Plan(_ context.Context, data []byte) (api.PlanView, error) {
	p, err := a.r.PlanBytes(data)
	if err != nil {
		return api.PlanView{}, apierrInvalid(err)
	}
	return planView(p), nil
}

func (a configAdapter) Reload(ctx context.Context, confirmPrune bool) (api.PlanView, error) {
	res := a.r.Reload(ctx, "api", confirmPrune)
	var v api.PlanView
	if res.Plan != nil {
		v = planView(res.Plan)
	}
	if res.Err != nil {
		if res.Result == "held" {
			return v, apierrConflict(res.Err)
		}
		return v, apierrInvalid(res.Err)
	}
	return v, nil
}

func planView(p *reconcile.Plan) api.PlanView {
	return api.PlanView{Changes: p.Changes(), Held: p.Held, Summary: p.Summary(), Items: p.Items}
}
