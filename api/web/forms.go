package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jagad/jagad/config"
	"github.com/jagad/jagad/state"
)

// The create and edit pages of connections, storage providers and
// notification targets. Like the schedule form, they only read the store;
// the page's script sends the form to the API. No stored secret is ever
// written into a page: a secret field is empty, its placeholder says whether
// a value is stored, and an empty field on edit keeps the stored value (the
// API's PUT keeps a secret that is absent, empty or the mask).

// FormPage is what the three form templates share.
type FormPage struct {
	ID        string
	New       bool
	File      bool   // managed by jagad.yaml: shown read-only
	Section   string // the jagad.yaml key it is declared under
	Name      string
	HasSecret bool // a password or secret key is stored
}

func formOf(m state.Meta, name, section string) FormPage {
	return FormPage{ID: m.ID, New: m.ID == "", File: m.ManagedBy == state.ManagedByFile, Section: section, Name: name}
}

// getOrNew reads the record of the request's {id}; none: a new one.
func getOrNew[T state.Record](u *ui, r *http.Request, what string) (T, error) {
	var v T
	id := r.PathValue("id")
	if id == "" {
		return v, nil
	}
	err := u.d.Store.View(func(tx *state.Tx) (err error) {
		v, err = state.Get[T](tx, id)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return v, notFoundf(fmt.Sprintf("No %s with this ID.", what))
	}
	return v, err
}

func formTitle(f FormPage, kind string) string {
	if f.New {
		return "New " + kind
	}
	return strings.ToUpper(kind[:1]) + kind[1:] + " " + f.Name
}

type connectionForm struct {
	FormPage
	DBType, Host, Username, SSLMode string
	Port                            int
	DBTypes                         []string
}

func (u *ui) connectionEdit(_ http.ResponseWriter, r *http.Request) (page, error) {
	c, err := getOrNew[state.Connection](u, r, "connection")
	if err != nil {
		return page{}, err
	}
	f := connectionForm{FormPage: formOf(c.Meta, c.Name, "connections"), DBType: c.DBType, Host: c.Host,
		Username: c.Username, SSLMode: c.SSLMode, Port: c.Port, DBTypes: []string{"postgresql", "mysql", "mariadb"}}
	f.HasSecret = c.Password != ""
	if f.New {
		f.DBType = "postgresql"
	}
	return page{Template: "connection", Title: formTitle(f.FormPage, "connection"), Nav: "connections", Data: f}, nil
}

type providerForm struct {
	FormPage
	P     state.ProviderSpec // SecretKey is blanked: never rendered
	Types []string
}

func (u *ui) providerEdit(_ http.ResponseWriter, r *http.Request) (page, error) {
	p, err := getOrNew[state.Provider](u, r, "storage provider")
	if err != nil {
		return page{}, err
	}
	f := providerForm{FormPage: formOf(p.Meta, p.Name, "storage"), P: p.ProviderSpec,
		Types: []string{"local", "s3", "r2", "minio", "gcs", "b2", "s3-compat"}}
	f.HasSecret, f.P.SecretKey = p.SecretKey != "", ""
	if f.New {
		f.P.ProviderType = "local"
	}
	return page{Template: "provider", Title: formTitle(f.FormPage, "storage provider"), Nav: "storage", Data: f}, nil
}

type notificationForm struct {
	FormPage
	Type    string
	Types   []string
	Events  []eventBox
	Values  map[string]string // the config's values that are not secret
	Stored  map[string]bool   // secret keys with a stored value
	Headers string            // webhook header names, one "Name:" a line (values are secret)
}

type eventBox struct {
	Name    string
	Checked bool
}

func (u *ui) notificationEdit(_ http.ResponseWriter, r *http.Request) (page, error) {
	n, err := getOrNew[state.Notification](u, r, "notification target")
	if err != nil {
		return page{}, err
	}
	f := notificationForm{FormPage: formOf(n.Meta, n.Name, "notifications"), Type: n.NotifType,
		Types: []string{"telegram", "discord", "slack", "email", "webhook"}, Values: map[string]string{}, Stored: map[string]bool{}}
	if f.New {
		f.Type = "telegram"
	}
	for _, e := range []string{"backup.succeeded", "backup.failed", "backup.copy_failed", "verify.failed", "config.failed"} {
		f.Events = append(f.Events, eventBox{e, slices.Contains(n.Events, e)})
	}
	cfg := map[string]any{}
	_ = json.Unmarshal([]byte(n.ConfigJSON.Reveal()), &cfg)
	secret := config.SecretConfigKeys(n.NotifType)
	for k, v := range cfg {
		if k == "headers" {
			h, _ := v.(map[string]any)
			var names []string
			for name := range h {
				names = append(names, name+": ")
			}
			slices.Sort(names)
			f.Headers = strings.Join(names, "\n")
			f.Stored[k] = len(h) > 0
			continue
		}
		if slices.Contains(secret, k) {
			f.Stored[k] = v != nil && v != ""
			continue
		}
		f.Values[k] = configString(v)
	}
	return page{Template: "notification", Title: formTitle(f.FormPage, "notification target"), Nav: "notifications", Data: f}, nil
}

// configString renders a non-secret config value for an input: lists
// (email's to) comma-separated, numbers without a fraction.
func configString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, configString(e))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}
