package reconcile

import (
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/state"
	"github.com/jagad/jagad/state/logbuf"
)

const tokensYAML = `version: 1
tokens:
  - name: ci-plan
    scope: read
    hash: "%s"
    expires_at: 2027-01-01T00:00:00Z
  - name: deployer
    scope: operate
    hash: "%s"
`

func tokenFile(h1, h2 string) string {
	return strings.Replace(strings.Replace(tokensYAML, "%s", h1, 1), "%s", h2, 1)
}

func storedTokens(tb testing.TB, s *state.Store) map[string]state.Token {
	tb.Helper()
	out := map[string]state.Token{}
	err := s.View(func(tx *state.Tx) error {
		toks, err := state.List[state.Token](tx)
		for _, t := range toks {
			out[t.Name] = t
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func planAction(p *Plan, kind, name string) Action {
	for _, it := range p.Items {
		if it.Kind == kind && it.Name == name {
			return it.Action
		}
	}
	return ""
}

// TestFileTokens reconciles declared tokens like every other kind: created
// file-managed under a derived ID, unchanged on a second reload (their last
// use kept), updated when the hash changes (the use forgotten: a new secret),
// adopted from the API by name, pruned when gone; the hash never reaches
// the log.
func TestFileTokens(t *testing.T) {
	_, h1, _ := state.NewTokenSecret()
	_, h2, _ := state.NewTokenSecret()
	_, h3, _ := state.NewTokenSecret()
	logs := &logbuf.Buffer{}
	store := memStore(t)
	path := filepath.Join(t.TempDir(), "jagad.yaml")
	c := newClock()
	r, err := New(Options{Path: path, Store: store, Now: c.Now, Env: testEnv, SettleWindow: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{path: path, store: store, clock: c, r: r}

	res := f.apply(t, tokenFile(h1, h2))
	toks := storedTokens(t, store)
	ci := toks["ci-plan"]
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if ci.ManagedBy != state.ManagedByFile || ci.ID != state.DerivedID(state.KindToken, "ci-plan") || ci.Scope != state.ScopeRead ||
		ci.Hash != h1 || ci.ExpiresAt == nil || !ci.ExpiresAt.Equal(exp) || planAction(res.Plan, "token", "ci-plan") != Create {
		t.Fatalf("created token: %+v; plan %+v", ci, res.Plan.Items)
	}
	if d := toks["deployer"]; d.Scope != state.ScopeOperate || d.ExpiresAt != nil || d.Hash != h2 {
		t.Fatalf("deployer: %+v", d)
	}

	used := c.Now().Add(time.Minute)
	mustUpdate(t, store, func(tx *state.Tx) error { return tx.TouchToken(ci.ID, used, "192.0.2.9") })
	// The touch does not wake the quiet plan, and a forced replan (another
	// write to a planned kind) still finds nothing to change.
	mustUpdate(t, store, func(tx *state.Tx) error { return state.Put(tx, toks["deployer"]) })
	res = f.reload(t, OutcomeUnchanged)
	if got := storedTokens(t, store)["ci-plan"]; got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.LastUsedFrom != "192.0.2.9" {
		t.Fatalf("a no-op reload lost the last use: %+v", got)
	}

	res = f.apply(t, tokenFile(h3, h2))
	it := res.Plan.Items[slices.IndexFunc(res.Plan.Items, func(it Item) bool { return it.Name == "ci-plan" })]
	if it.Action != Update || !slices.Equal(it.Fields, []string{"hash"}) {
		t.Fatalf("hash change: %+v", it)
	}
	if got := storedTokens(t, store)["ci-plan"]; got.Hash != h3 || got.LastUsedAt != nil || got.ID != ci.ID {
		t.Fatalf("after a new hash: %+v (want the use forgotten, the ID kept)", got)
	}

	// An API-made token of a declared name is adopted; its ID is kept.
	apiTok := state.Token{Meta: state.Meta{ID: state.NewID(state.KindToken), ManagedBy: state.ManagedByAPI, CreatedAt: c.Now()},
		TokenSpec: state.TokenSpec{Name: "later", Scope: state.ScopeAdmin, Hash: h1}}
	mustUpdate(t, store, func(tx *state.Tx) error { return state.Put(tx, apiTok) })
	f.write(t, tokenFile(h3, h2)+`  - name: later
    scope: read
    hash: "`+h1+`"
`)
	res = f.reload(t, OutcomeApplied)
	if got := storedTokens(t, store)["later"]; planAction(res.Plan, "token", "later") != Adopt || got.ID != apiTok.ID ||
		got.ManagedBy != state.ManagedByFile || got.Scope != state.ScopeRead {
		t.Fatalf("adopt: %+v, plan %+v", got, res.Plan.Items)
	}

	res = f.apply(t, "version: 1\ntokens:\n  - name: deployer\n    scope: operate\n    hash: \""+h2+"\"\n")
	toks = storedTokens(t, store)
	if _, ok := toks["ci-plan"]; ok || planAction(res.Plan, "token", "ci-plan") != Prune || planAction(res.Plan, "token", "later") != Prune {
		t.Fatalf("prune: %v, plan %+v", toks, res.Plan.Items)
	}

	// Planning a posted document shows tokens by name, never their hash.
	p, err := f.r.PlanBytes([]byte(tokenFile(h1, h2)))
	if err != nil || planAction(p, "token", "ci-plan") != Create || planAction(p, "token", "deployer") != Unchanged {
		t.Fatalf("PlanBytes: %+v, %v", p, err)
	}
	for _, h := range []string{h1, h2, h3, strings.TrimPrefix(h1, "sha256:")} {
		if strings.Contains(logs.String(), h) {
			t.Fatalf("a token hash reached the log:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "token") {
		t.Fatalf("the log should mention the reloads: %s", logs.String())
	}
}
