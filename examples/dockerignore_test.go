package examples

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerignore returns the build context's matcher, as docker build reads
// .dockerignore.
func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	patterns, err := ignorefile.ReadAll(bytes.NewReader(readFile(t, "../.dockerignore")))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func ignored(t *testing.T, pm *patternmatcher.PatternMatcher, rel string) bool {
	t.Helper()
	m, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDockerignoreKeepsBuildInputs: every file `go build ./cmd/jagad` reads
// (go.mod, go.sum, the Go and embedded files of the main module's packages it
// imports) is in the build context, and the local state (.git, .bin, .data,
// bin) is not.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	pm := dockerignore(t)
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "./cmd/jagad")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	if len(files) < 20 {
		t.Fatalf("go list found only %d build inputs", len(files))
	}
	for _, f := range files {
		if ignored(t, pm, f) {
			t.Errorf(".dockerignore leaves out %s, which go build ./cmd/jagad reads", f)
		}
	}
	for _, f := range []string{".git/HEAD", ".bin/versitygw", ".data/jagad.db", "bin/jagad", "examples/compose/compose.yaml", "engine/dump/tools_test.go"} {
		if !ignored(t, pm, f) {
			t.Errorf(".dockerignore sends %s to the build context", f)
		}
	}
}
