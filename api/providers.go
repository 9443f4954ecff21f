package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/fault"
)

// mask replaces secret values in responses.
const mask = "••••••"

// actionTimeout bounds test actions that run on the request.
const actionTimeout = 30 * time.Second

type providerView struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	ProviderType string          `json:"provider_type"`
	Endpoint     string          `json:"endpoint"`
	Region       string          `json:"region"`
	Bucket       string          `json:"bucket"`
	Prefix       string          `json:"prefix"`
	Path         string          `json:"path"`
	AccessKey    string          `json:"access_key"`
	SecretKey    string          `json:"secret_key"` // masked; "" when unset
	PathStyle    bool            `json:"path_style"`
	IsDefault    bool            `json:"is_default"`
	ManagedBy    state.ManagedBy `json:"managed_by"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`

	ObjectLock *state.ObjectLock `json:"object_lock"` // null: none
}

func maskSecret(s state.Secret) string {
	if s == "" {
		return ""
	}
	return mask
}

func viewProvider(p state.Provider) providerView {
	v := providerView{ID: p.ID, Name: p.Name, ProviderType: p.ProviderType, Endpoint: p.Endpoint,
		Region: p.Region, Bucket: p.Bucket, Prefix: p.Prefix, Path: p.Path, AccessKey: p.AccessKey,
		SecretKey: maskSecret(p.SecretKey), PathStyle: p.PathStyle, IsDefault: p.IsDefault,
		ManagedBy: p.ManagedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.ObjectLock != (state.ObjectLock{}) {
		l := p.ObjectLock
		v.ObjectLock = &l
	}
	return v
}

type providerInput struct {
	Name         *string `json:"name"`
	ProviderType *string `json:"provider_type"`
	Endpoint     *string `json:"endpoint"`
	Region       *string `json:"region"`
	Bucket       *string `json:"bucket"`
	Prefix       *string `json:"prefix"`
	Path         *string `json:"path"`
	AccessKey    *string `json:"access_key"`
	SecretKey    *string `json:"secret_key"` // empty or masked: keep the stored one
	PathStyle    *bool   `json:"path_style"`
	IsDefault    *bool   `json:"is_default"`
	readOnly

	ObjectLock objectLockInput `json:"object_lock"`
}

// objectLockInput is the object_lock of a provider input: absent keeps the
// stored lock, null (or {}) removes it, {"mode": …, "days": …} sets it.
type objectLockInput struct {
	given bool
	lock  state.ObjectLock
}

func (o *objectLockInput) UnmarshalJSON(b []byte) error {
	o.given, o.lock = true, state.ObjectLock{}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o.lock); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return typ // encoding/json prefixes the field with "object_lock."
		}
		return fmt.Errorf("object_lock: %w", err)
	}
	return nil
}

func (in providerInput) apply(p *state.ProviderSpec) {
	setStr(&p.Name, in.Name)
	setStr(&p.ProviderType, in.ProviderType)
	setStr(&p.Endpoint, in.Endpoint)
	setStr(&p.Region, in.Region)
	setStr(&p.Bucket, in.Bucket)
	setStr(&p.Prefix, in.Prefix)
	setStr(&p.Path, in.Path)
	setStr(&p.AccessKey, in.AccessKey)
	setBool(&p.PathStyle, in.PathStyle)
	setBool(&p.IsDefault, in.IsDefault)
	if in.ObjectLock.given {
		p.ObjectLock = in.ObjectLock.lock
	}
	if in.SecretKey != nil && *in.SecretKey != "" && *in.SecretKey != mask {
		p.SecretKey = state.Secret(*in.SecretKey)
	}
}

// validateProvider fills defaults (endpoint, region) and checks p with the file's rules.
func validateProvider(p *state.ProviderSpec) error {
	fs := config.Storage{Name: p.Name, ProviderType: p.ProviderType, Path: p.Path, Endpoint: p.Endpoint,
		Region: p.Region, Bucket: p.Bucket, Prefix: p.Prefix, AccessKey: p.AccessKey,
		SecretKey: p.SecretKey.Reveal(), IsDefault: p.IsDefault}
	if p.PathStyle {
		fs.PathStyle = &p.PathStyle
	}
	if p.ObjectLock != (state.ObjectLock{}) {
		fs.ObjectLock = &config.ObjectLock{Mode: p.ObjectLock.Mode, Days: p.ObjectLock.Days}
	}
	fs.SetDefaults()
	p.Endpoint, p.Region = fs.Endpoint, fs.Region
	return fieldErrors(config.ValidateStorage(fs), nil)
}

// settleDefault keeps one default provider: when p is the default, the others
// lose the flag (a file-declared default cannot be taken over through the
// API: 409). A provider created while none is the default becomes it.
func settleDefault(tx *state.Tx, p *state.Provider, creating bool) error {
	all, err := state.List[state.Provider](tx)
	if err != nil {
		return fmt.Errorf("list storage providers: %w", err)
	}
	others := slices.DeleteFunc(all, func(o state.Provider) bool { return o.ID == p.ID || !o.IsDefault })
	if !p.IsDefault {
		p.IsDefault = creating && len(others) == 0
		return nil
	}
	for _, o := range others {
		if o.ManagedBy == state.ManagedByFile {
			return fault.Conflict(fmt.Sprintf("storage provider %q is the default set by jagad.yaml; change it there", o.Name))
		}
		o.IsDefault = false
		if err := state.Put(tx, o); err != nil {
			return fmt.Errorf("store storage provider %s: %w", o.ID, err)
		}
	}
	return nil
}

func (s *server) listProviders(r *http.Request, _ httprouter.Params) (any, error) {
	return listViews(s, r, providers, viewProvider)
}

func (s *server) getProvider(_ *http.Request, p httprouter.Params) (any, error) {
	pr, err := providers.get(s, p.ByName("id"))
	if err != nil {
		return nil, err
	}
	return viewProvider(pr), nil
}

func (s *server) createProvider(r *http.Request, _ httprouter.Params) (any, error) {
	var in providerInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	var spec state.ProviderSpec
	in.apply(&spec)
	if err := validateProvider(&spec); err != nil {
		return nil, err
	}
	pr := state.Provider{Meta: apiMeta(state.KindProvider, s.now().UTC()), ProviderSpec: spec}
	err := providers.create(s, &pr, func(tx *state.Tx, pr *state.Provider) error { return settleDefault(tx, pr, true) })
	if err != nil {
		return nil, err
	}
	return created(viewProvider(pr)), nil
}

func (s *server) updateProvider(r *http.Request, p httprouter.Params) (any, error) {
	var in providerInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	pr, err := providers.update(s, p.ByName("id"), func(tx *state.Tx, pr *state.Provider) error {
		in.apply(&pr.ProviderSpec)
		if err := validateProvider(&pr.ProviderSpec); err != nil {
			return err
		}
		return settleDefault(tx, pr, false)
	})
	if err != nil {
		return nil, err
	}
	return viewProvider(pr), nil
}

// deleteProvider refuses while a schedule stores to the provider or
// backups are stored there: without it they could be neither restored nor
// deleted through Jagad.
func (s *server) deleteProvider(_ *http.Request, p httprouter.Params) (any, error) {
	err := providers.remove(s, p.ByName("id"), func(tx *state.Tx, pr state.Provider) error {
		st, err := tx.BackupStats()
		if err != nil {
			return fmt.Errorf("backup stats: %w", err)
		}
		if n := st.StoredByProvider[pr.ID]; n > 0 {
			return fault.Conflict(fmt.Sprintf("storage provider %q holds backups (%d bytes); delete them first, or they could no longer be restored or deleted", pr.Name, n))
		}
		all, err := tx.ListBackups(state.BackupQuery{})
		if err != nil {
			return fmt.Errorf("list backups: %w", err)
		}
		for _, b := range all {
			if b.StorageProviderID == pr.ID && (b.Status == state.StatusQueued || b.Status == state.StatusRunning) {
				return fault.Conflict(fmt.Sprintf("storage provider %q is the target of backup %s, which is %s; wait for it to finish", pr.Name, b.ID, b.Status))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return noContent, nil
}

// testProvider asks the engine to reach the provider: 200 with success false
// (and a scrubbed message) when it cannot; 503 when the engine is not up.
func (s *server) testProvider(r *http.Request, p httprouter.Params) (any, error) {
	pr, err := providers.get(s, p.ByName("id"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	if err := s.engine.TestStorage(ctx, pr.ID); err != nil {
		if isUnavailable(err) {
			return nil, err
		}
		return testResult{Error: testMessage(scrub(err.Error(), pr.SecretKey.Reveal()))}, nil
	}
	return testResult{Success: true, Message: "Connection successful"}, nil
}

// maxTestMessage bounds the message of a failed test: a step, a status or
// code and a cause, never a remote service's whole answer.
const maxTestMessage = 300

// testMessage is err's text as one short line for a test endpoint's answer.
// What it says comes from the engine, which never quotes a remote body;
// this only keeps it short and on one line.
func testMessage(msg string) string {
	msg = strings.Join(strings.Fields(strings.ToValidUTF8(msg, "?")), " ")
	if len(msg) <= maxTestMessage {
		return msg
	}
	cut := maxTestMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

func isUnavailable(err error) bool { return fault.CodeOf(err) == fault.CodeUnavailable }

// setDefaultProvider makes the provider the default (200 with the provider).
func (s *server) setDefaultProvider(_ *http.Request, p httprouter.Params) (any, error) {
	var pr state.Provider
	err := s.store.Update(func(tx *state.Tx) (err error) {
		if pr, err = getRec[state.Provider](tx, p.ByName("id"), wordProvider); err != nil {
			return err
		}
		if pr.IsDefault {
			return nil
		}
		if err := checkOwned(pr.Meta, wordProvider, pr.Name); err != nil {
			return err
		}
		pr.IsDefault = true
		if err := settleDefault(tx, &pr, false); err != nil {
			return err
		}
		pr.UpdatedAt = s.now().UTC()
		return state.Put(tx, pr)
	})
	if err != nil {
		return nil, err
	}
	return viewProvider(pr), nil
}
