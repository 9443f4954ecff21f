package examples

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// execdTools returns the programs the daemon runs, read from its source (not
// from a list kept here): the first argument of exec.Command,
// exec.CommandContext and exec.LookPath when it is a string literal, and the
// candidate names of the dump tools (engine/dump/tools.go: `names = ...,
// []string{"mariadb-dump", "mysqldump"}`), and the first name given to a
// findBinary(override, names...) lookup (engine/mariaphys). Test files and test-support
// packages (their directory ends in "test") are skipped: they run servers
// for tests, not for the daemon.
func execdTools(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, root := range []string{"../api", "../cmd", "../config", "../engine", "../reconcile", "../state"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); name == "testdata" || (path != root && strings.HasSuffix(name, "test")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, name := range toolsIn(f) {
				seen[name] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var tools []string
	for name := range seen {
		tools = append(tools, name)
	}
	slices.Sort(tools)
	// The extractor must keep finding the dump tools; if the engine's code
	// changes shape, change execdTools rather than let it find nothing.
	for _, must := range []string{"pg_dump", "pg_restore", "mariadb-dump", "mariadb"} {
		if !seen[must] {
			t.Fatalf("execdTools found %v, not %s: the engine's way of naming its tools changed; update execdTools", tools, must)
		}
	}
	return tools
}

// toolsIn returns the tool names one file execs.
func toolsIn(f *ast.File) []string {
	var names []string
	lit := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil && s != "" && !strings.ContainsRune(s, '/') {
				names = append(names, s)
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "findBinary" {
				// findBinary(override, "name", "older name", ...): the
				// engine's lookup of a tool under one of several names; the
				// first literal is the one the image must have.
				for _, a := range n.Args {
					if b, ok := a.(*ast.BasicLit); ok && b.Kind == token.STRING {
						lit(a)
						break
					}
				}
				return true
			}
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "exec" {
				return true
			}
			switch {
			case (sel.Sel.Name == "Command" || sel.Sel.Name == "LookPath") && len(n.Args) > 0:
				lit(n.Args[0])
			case sel.Sel.Name == "CommandContext" && len(n.Args) > 1:
				lit(n.Args[1])
			}
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if id, ok := lhs.(*ast.Ident); !ok || id.Name != "names" || i >= len(n.Rhs) {
					continue
				}
				if cl, ok := n.Rhs[i].(*ast.CompositeLit); ok {
					for _, e := range cl.Elts {
						lit(e)
					}
				}
			}
		}
		return true
	})
	return names
}

// TestExecdToolsFromSource: the extractor reads the tools from code shaped
// like the engine's, and ignores paths and non-literals.
func TestExecdToolsFromSource(t *testing.T) {
	src := `package x
import "os/exec"
func f(ctx any, p string) {
	var override string
	var names []string
	override, names = "", []string{"alpha-dump", "beta"}
	_, _ = exec.LookPath("gamma")
	_ = exec.Command("delta", "-x")
	_ = exec.CommandContext(ctx, "epsilon")
	_ = exec.Command(p)
	_ = exec.Command("/usr/bin/zeta")
	_, _ = findBinary(override, "eta", "theta")
	_ = override
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := toolsIn(f)
	slices.Sort(got)
	want := []string{"alpha-dump", "beta", "delta", "epsilon", "eta", "gamma"}
	if !slices.Equal(got, want) {
		t.Fatalf("toolsIn = %v, want %v", got, want)
	}
	tools := execdTools(t)
	t.Logf("the daemon execs: %v", tools)
}
