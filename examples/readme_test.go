package examples

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeInstallSection: README's Install section names go.mod's Go
// version, and every file it links to exists.
func TestReadmeInstallSection(t *testing.T) {
	readme := string(readFile(t, "../README.md"))
	_, section, ok := strings.Cut(readme, "\n## Install\n")
	if !ok {
		t.Fatal(`README.md has no "## Install" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	if v := goModVersion(t); !strings.Contains(section, "Go "+v) || !strings.Contains(section, "golang:"+v+"-bookworm") {
		t.Errorf("the Install section does not name Go %s and golang:%s-bookworm", v, v)
	}
	links := regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(section, -1)
	if len(links) < 5 {
		t.Fatalf("only %d links in the Install section", len(links))
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join("..", l[1])); err != nil {
			t.Errorf("README Install links to %s: %v", l[1], err)
		}
	}
}
