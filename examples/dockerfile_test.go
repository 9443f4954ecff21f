package examples

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
)

const dockerfilePath = "../Dockerfile"

// fakeImages answers buildkit's base-image lookups without a registry: every
// image is an empty linux/amd64 image. It records the references asked for.
type fakeImages struct{ refs []string }

func (f *fakeImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	f.refs = append(f.refs, ref)
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

// lintDockerfile runs buildkit's Dockerfile checks (`docker build --check`)
// on dt and returns one line per warning or error, and the base images the
// build would pull.
func lintDockerfile(t *testing.T, dt []byte, buildArgs map[string]string) (problems, images []string) {
	t.Helper()
	res := &fakeImages{}
	sm := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	opt := dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: buildArgs},
		SourceMap:    sm,
		MetaResolver: res,
	}
	results, err := dockerfile2llb.DockerfileLint(context.Background(), dt, opt)
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, w := range results.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		problems = append(problems, fmt.Sprintf("Dockerfile:%d: %s: %s", line, w.RuleName, w.Detail))
	}
	if results.Error != nil {
		problems = append(problems, "error: "+results.Error.Message)
	}
	return problems, res.refs
}

// TestDockerfileLint: buildkit's linter finds nothing in the Dockerfile, with
// the default build arguments and with PG_MAJOR set, and the build pulls the
// pinned Go builder and Debian bookworm-slim.
func TestDockerfileLint(t *testing.T) {
	dt := readFile(t, dockerfilePath)
	for _, args := range []map[string]string{nil, {"PG_MAJOR": "17", "VERSION": "v1.2.3", "COMMIT": "abc1234", "CREATED": "2026-01-01T00:00:00Z"}} {
		problems, images := lintDockerfile(t, dt, args)
		if len(problems) > 0 {
			t.Errorf("Dockerfile lint (build args %v):\n%s", args, strings.Join(problems, "\n"))
		}
		want := []string{"docker.io/library/debian:bookworm-slim", "docker.io/library/golang:" + goModVersion(t) + "-bookworm"}
		slices.Sort(images)
		if !slices.Equal(images, want) {
			t.Errorf("base images %v, want %v", images, want)
		}
	}
}

// TestDockerfileLintBites: the same linter flags a Dockerfile with the usual
// mistakes, so a clean result above means something.
func TestDockerfileLintBites(t *testing.T) {
	bad := []byte("from golang:1.26 as Build\nRUN go build -o /x $UNDEFINED_THING\nFROM debian:bookworm-slim\nMAINTAINER someone\nENV A b\nENV B=${UNDEFINED_THING}\nCMD /x serve\n")
	problems, _ := lintDockerfile(t, bad, nil)
	text := strings.Join(problems, "\n")
	for _, rule := range []string{"ConsistentInstructionCasing", "StageNameCasing", "MaintainerDeprecated", "LegacyKeyValueFormat", "JSONArgsRecommended", "UndefinedVar"} {
		if !strings.Contains(text, rule) {
			t.Errorf("linter did not report %s; got:\n%s", rule, text)
		}
	}
}

// goModVersion is the go line of the daemon's go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("../go.mod has no go line")
	}
	return string(m[1])
}

// stages parses the Dockerfile into buildkit's instructions.
func stages(t *testing.T) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	ast, err := parser.Parse(bytes.NewReader(readFile(t, dockerfilePath)))
	if err != nil {
		t.Fatal(err)
	}
	st, meta, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, meta
}

// TestDockerfileRuntimeStage: the pinned builder is go.mod's version; the
// runtime stage runs as a non-root user, declares the data volume, a health
// check on /livez and the OCI version labels from build arguments, and starts
// `jagad serve`.
func TestDockerfileRuntimeStage(t *testing.T) {
	st, meta := stages(t)
	goVer := ""
	for _, a := range meta {
		for _, kv := range a.Args {
			if kv.Key == "GO_VERSION" && kv.Value != nil {
				goVer = *kv.Value
			}
		}
	}
	if want := goModVersion(t); goVer != want {
		t.Errorf("ARG GO_VERSION=%q, go.mod says go %s", goVer, want)
	}
	if len(st) < 2 {
		t.Fatalf("%d stages, want a builder and a runtime stage", len(st))
	}
	if st[0].BaseName != "golang:${GO_VERSION}-bookworm" {
		t.Errorf("builder FROM %q", st[0].BaseName)
	}
	rt := st[len(st)-1]
	if rt.BaseName != "debian:bookworm-slim" {
		t.Errorf("runtime FROM %q, want debian:bookworm-slim", rt.BaseName)
	}
	var (
		user       string
		volumes    []string
		health     []string
		labels     = map[string]string{}
		entrypoint []string
		cmd        []string
		copied     bool
	)
	for _, c := range rt.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.VolumeCommand:
			volumes = append(volumes, c.Volumes...)
		case *instructions.HealthCheckCommand:
			health = c.Health.Test
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = kv.Value
			}
		case *instructions.EntrypointCommand:
			entrypoint = c.CmdLine
		case *instructions.CmdCommand:
			cmd = c.CmdLine
		case *instructions.CopyCommand:
			copied = c.From == "build" && slices.Contains(c.SourcePaths, "/out/jagad")
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("runtime USER %q: want a non-root user", user)
	}
	if !slices.Contains(volumes, "/var/lib/jagad") {
		t.Errorf("VOLUME %v lacks /var/lib/jagad", volumes)
	}
	if len(health) < 2 || !strings.Contains(strings.Join(health, " "), "/livez") {
		t.Errorf("HEALTHCHECK %q does not probe /livez", health)
	}
	for _, k := range []string{"version", "revision", "created"} {
		v, ok := labels["org.opencontainers.image."+k]
		if v = strings.Trim(v, `"`); !ok || !strings.HasPrefix(v, "${") {
			t.Errorf("label org.opencontainers.image.%s = %q, want a build argument", k, v)
		}
	}
	if !copied {
		t.Error("runtime stage does not copy /out/jagad from the build stage")
	}
	if !slices.Equal(entrypoint, []string{"/usr/local/bin/jagad"}) || !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("ENTRYPOINT %q CMD %q, want jagad serve", entrypoint, cmd)
	}
}

// runtimePackages returns the packages of the runtime stage's unconditional
// `apt-get install` (the list the image always has), and the health check's
// command.
func runtimePackages(t *testing.T) (pkgs []string, healthTool string) {
	t.Helper()
	st, _ := stages(t)
	rt := st[len(st)-1]
	for _, c := range rt.Commands {
		switch c := c.(type) {
		case *instructions.RunCommand:
			if pkgs != nil {
				continue
			}
			script := strings.Join(c.CmdLine, " ")
			_, rest, ok := strings.Cut(script, "apt-get install")
			if !ok {
				continue
			}
			pkgs = []string{}
			for _, f := range strings.Fields(rest) {
				if strings.HasPrefix(f, "-") {
					continue
				}
				stop := strings.ContainsAny(f, ";&|")
				if name := strings.TrimRight(f, ";&|"); name != "" {
					pkgs = append(pkgs, name)
				}
				if stop {
					break
				}
			}
		case *instructions.HealthCheckCommand:
			// ["CMD-SHELL", "wget -q ..."] or ["CMD", "wget", ...]
			if test := c.Health.Test; len(test) > 1 {
				healthTool = strings.Fields(test[1])[0]
			}
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no apt-get install in the runtime stage")
	}
	return pkgs, healthTool
}

// TestRuntimePackagesProvideExecdTools: every tool the daemon execs (found in
// its source, see execdTools) and the health check's command is in a package
// the runtime stage installs, or one of their dependencies. Which package
// ships a tool is asked of dpkg on this machine, where .ci/services.sh
// installed the same Debian packages.
func TestRuntimePackagesProvideExecdTools(t *testing.T) {
	pkgs, healthTool := runtimePackages(t)
	for _, p := range []string{"ca-certificates", "tzdata", "postgresql-client", "mariadb-client"} {
		if !slices.Contains(pkgs, p) {
			t.Errorf("runtime packages %v lack %s", pkgs, p)
		}
	}
	tools := append(execdTools(t), healthTool)
	closure := debClosure(t, pkgs)
	if missing := missingTools(t, tools, closure); len(missing) > 0 {
		t.Fatalf("the image would lack %s (runtime packages %v)", strings.Join(missing, ", "), pkgs)
	}
}

// TestMissingToolIsCaught: drop mariadb-client from the list and the check
// above names the MariaDB tools.
func TestMissingToolIsCaught(t *testing.T) {
	pkgs, _ := runtimePackages(t)
	pkgs = slices.DeleteFunc(pkgs, func(p string) bool { return p == "mariadb-client" })
	missing := missingTools(t, execdTools(t), debClosure(t, pkgs))
	for _, tool := range []string{"mariadb-dump", "mariadb-binlog"} {
		if !slices.Contains(missing, tool) {
			t.Errorf("without mariadb-client, missing = %v; want it to name %s", missing, tool)
		}
	}
}

// needDebian skips outside Debian (fails under CI, where the tools must be
// there).
func needDebian(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: this test needs a Debian machine (run .ci/services.sh)", c)
			}
			t.Skipf("%s not found: not a Debian machine", c)
		}
	}
}

// debClosure is the set of packages pkgs install: themselves and their
// Depends/Pre-Depends, recursively, as apt knows them.
func debClosure(t *testing.T, pkgs []string) map[string]bool {
	t.Helper()
	needDebian(t, "apt-cache")
	args := append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
		"--no-breaks", "--no-replaces", "--no-enhances"}, pkgs...)
	out, err := exec.Command("apt-cache", args...).Output()
	if err != nil {
		t.Fatalf("apt-cache depends %v: %v (run apt-get update)", pkgs, err)
	}
	set := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && !strings.HasPrefix(line, " "):
			set[f[0]] = true
		case len(f) == 2 && (f[0] == "Depends:" || f[0] == "PreDepends:" || f[0] == "|Depends:"):
			set[strings.Trim(f[1], "<>")] = true
		}
	}
	for _, p := range pkgs {
		if !set[p] {
			t.Fatalf("apt does not know package %q (apt-cache depends printed:\n%s)", p, out)
		}
	}
	return set
}

// missingTools returns the tools no package of closure ships, asking dpkg
// which packages own each tool's /usr/bin, /bin, /usr/sbin or /sbin entry.
func missingTools(t *testing.T, tools []string, closure map[string]bool) []string {
	t.Helper()
	owners := toolOwners(t, tools)
	var missing []string
	for _, tool := range tools {
		if !slices.ContainsFunc(owners[tool], func(p string) bool { return closure[p] }) {
			missing = append(missing, tool)
		}
	}
	return missing
}

// toolOwners maps each tool to the Debian packages that ship it in a bin
// directory, in one dpkg call.
func toolOwners(t *testing.T, tools []string) map[string][]string {
	t.Helper()
	needDebian(t, "dpkg")
	var paths []string
	for _, tool := range tools {
		for _, dir := range []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin"} {
			paths = append(paths, filepath.Join(dir, tool))
		}
	}
	// dpkg exits 1 when some path is unowned (most /bin ones are, with
	// merged /usr); what it found is on stdout all the same.
	out, _ := exec.Command("dpkg", append([]string{"-S"}, paths...)...).Output()
	owners := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		// "pkg1, pkg2: /usr/bin/tool"; skip "diversion by ..." lines.
		list, path, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, "diversion") {
			continue
		}
		tool := filepath.Base(strings.TrimSpace(path))
		for _, p := range strings.Split(list, ", ") {
			p, _, _ = strings.Cut(p, ":") // drop an architecture qualifier
			owners[tool] = append(owners[tool], p)
		}
	}
	for _, tool := range tools {
		if len(owners[tool]) == 0 {
			t.Fatalf("no installed package ships %s: install the package that does (.ci/services.sh) so this test can map it", tool)
		}
	}
	return owners
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
