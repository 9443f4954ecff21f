package main

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// module is the import path prefix of Jagad's own packages.
const module = "github.com/jagad/jagad/"

// layers says, for each top-level package of ours, which top-level packages
// of ours it may import (DESIGN §1, ARCHITECTURE.md). A package may always
// import its own sub-packages; test files are not checked. cmd wires
// everything together and is not listed.
var layers = map[string][]string{
	"config":    {},
	"state":     {},
	"reconcile": {"config", "state"},
	"engine":    {"config", "state"},
	"api":       {"config", "state", "engine", "reconcile"},
}

// TestLayering fails when any package of ours imports across the arrows.
func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of ours; the test is not looking at the module", len(pkgs))
	}
	var bad []string
	for _, p := range pkgs {
		bad = append(bad, forbiddenImports(p.ImportPath, p.Imports)...)
	}
	if len(bad) > 0 {
		t.Fatalf("forbidden imports (see ARCHITECTURE.md, \"The arrows\"):\n  %s", strings.Join(bad, "\n  "))
	}
}

// TestLayeringCatchesViolations proves the rule bites: each case is an arrow
// that points the wrong way.
func TestLayeringCatchesViolations(t *testing.T) {
	cases := []struct{ from, imp string }{
		{"engine", "api/apierr"},
		{"engine/storage", "reconcile"},
		{"reconcile", "engine"},
		{"state", "config"},
		{"config", "state/fault"},
		{"api/client", "cmd/jagad"},
	}
	for _, c := range cases {
		if got := forbiddenImports(module+c.from, []string{module + c.imp}); len(got) != 1 {
			t.Errorf("%s importing %s: got %v, want one violation", c.from, c.imp, got)
		}
	}
	if got := forbiddenImports(module+"engine/dump", []string{module + "engine/dbclient", module + "state", "fmt"}); len(got) != 0 {
		t.Errorf("allowed imports reported: %v", got)
	}
}

// forbiddenImports returns one line per import of pkg that its layer does
// not allow.
func forbiddenImports(pkg string, imports []string) []string {
	from := topOf(pkg)
	allowed, checked := layers[from]
	if !checked {
		return nil
	}
	var bad []string
	for _, imp := range imports {
		if !strings.HasPrefix(imp, module) {
			continue
		}
		to := topOf(imp)
		if to == from || contains(allowed, to) {
			continue
		}
		bad = append(bad, strings.TrimPrefix(pkg, module)+" imports "+strings.TrimPrefix(imp, module))
	}
	return bad
}

// topOf returns the top-level directory of one of our import paths.
func topOf(path string) string {
	rest := strings.TrimPrefix(path, module)
	top, _, _ := strings.Cut(rest, "/")
	return top
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// listPackages runs `go list -json` over the module (non-test imports only).
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestPureParsingStaysPure: the engine uses config only for pure packages
// (config/cron, config/word), so config's YAML stays out of its
// dependencies, and those packages import nothing of ours and no YAML.
func TestPureParsingStaysPure(t *testing.T) {
	for pkg, forbidden := range map[string][]string{
		"engine":      {"gopkg.in/yaml.v3", module + "config", "go.etcd.io/"}, // etcd: engine/cluster only
		"config/cron": {"gopkg.in/yaml.v3", module},
		"config/word": {"gopkg.in/yaml.v3", module},
	} {
		cmd := exec.Command("go", "list", "-deps", module+pkg)
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+pkg {
				continue
			}
			for _, f := range forbidden { // a trailing slash forbids a whole tree
				if dep == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// TestEtcdStaysInCluster: only engine/cluster (and its etcdtest) and the
// wiring import etcd; the engine takes the cluster as schedule.Gate and
// never imports engine/cluster, so a daemon alone has no etcd in its path.
func TestEtcdStaysInCluster(t *testing.T) {
	allowed := map[string]bool{module + "engine/cluster": true, module + "engine/cluster/etcdtest": true, module + "cmd/jagad": true}
	seen := false
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "go.etcd.io/") {
				seen = seen || p.ImportPath == module+"engine/cluster"
				if !allowed[p.ImportPath] {
					t.Errorf("%s imports %s: etcd belongs to engine/cluster", p.ImportPath, imp)
				}
			}
			if imp == module+"engine/cluster" && p.ImportPath != module+"cmd/jagad" && !allowed[p.ImportPath] {
				t.Errorf("%s imports engine/cluster: only cmd/jagad wires it", p.ImportPath)
			}
		}
	}
	if !seen {
		t.Error("engine/cluster imports no etcd package: the test is not looking")
	}
}
