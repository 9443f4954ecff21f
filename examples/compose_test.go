package examples

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

const composePath = "compose/compose.yaml"

// loadCompose loads a compose file as `docker compose` does (compose-go,
// validated against the Compose specification's JSON schema, embedded), with
// an empty environment so the file's own defaults apply.
func loadCompose(t *testing.T, data []byte) (*types.Project, error) {
	t.Helper()
	abs, err := filepath.Abs(composePath)
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs, Content: data}},
		Environment: types.Mapping{},
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("jagad", true)
	})
}

// TestComposeFile: the compose example is valid Compose; Jagad is built from
// the repository's Dockerfile, reads jagad.yaml from a read-only mount of
// this directory, keeps its data in a volume, and waits for PostgreSQL and
// the bucket; every secret default says FAKE.
func TestComposeFile(t *testing.T) {
	data := readFile(t, composePath)
	p, err := loadCompose(t, data)
	if err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	for _, name := range []string{"jagad", "postgres", "s3"} {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("no service %q (have %v)", name, p.ServiceNames())
		}
	}
	j := p.Services["jagad"]
	if j.Build == nil {
		t.Fatal("jagad is not built from the Dockerfile")
	}
	if _, err := os.Stat(filepath.Join(j.Build.Context, "Dockerfile")); err != nil {
		t.Errorf("build context %s has no Dockerfile: %v", j.Build.Context, err)
	}
	cfg := j.Environment["JAGAD_CONFIG"]
	if cfg == nil {
		t.Fatal("JAGAD_CONFIG is not set")
	}
	var configMounted, dataVolume bool
	for _, v := range j.Volumes {
		switch {
		case v.Type == types.VolumeTypeBind && strings.HasPrefix(*cfg, v.Target+"/"):
			configMounted = v.ReadOnly
			rel := strings.TrimPrefix(*cfg, v.Target+"/")
			if _, err := os.Stat(filepath.Join(v.Source, rel)); err != nil {
				t.Errorf("JAGAD_CONFIG %s: %v", *cfg, err)
			}
		case v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/jagad":
			dataVolume = true
		}
	}
	if !configMounted {
		t.Errorf("JAGAD_CONFIG %s is not on a read-only bind mount", *cfg)
	}
	if !dataVolume {
		t.Error("/var/lib/jagad is not a named volume")
	}
	if !j.ReadOnly || !slices.Contains(j.CapDrop, "ALL") {
		t.Errorf("jagad: read_only %v cap_drop %v: want a read-only root and no capabilities", j.ReadOnly, j.CapDrop)
	}
	if dep, ok := j.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("jagad does not wait for a healthy postgres: %+v", j.DependsOn)
	}
	if p.Services["postgres"].HealthCheck == nil {
		t.Error("postgres has no healthcheck")
	}
	for _, svc := range p.Services {
		for k, v := range svc.Environment {
			secret := strings.Contains(k, "PASS") || strings.Contains(k, "SECRET") || strings.HasSuffix(k, "_KEY") || strings.HasSuffix(k, "_KEY_ID")
			if secret && v != nil && !strings.Contains(*v, "FAKE") {
				t.Errorf("service %s: %s default %q does not say FAKE", svc.Name, k, *v)
			}
		}
	}
}

// TestComposeValidationBites: a misspelt key fails the schema.
func TestComposeValidationBites(t *testing.T) {
	bad := strings.Replace(string(readFile(t, composePath)), "    depends_on:", "    depend_on:", 1)
	if _, err := loadCompose(t, []byte(bad)); err == nil {
		t.Fatal("compose file with depend_on loaded")
	}
}
