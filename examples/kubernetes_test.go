package examples

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/jagad/jagad/examples/internal/promrule"
)

const k8sDir = "kubernetes"

// kustomization is the part of kustomize's Kustomization the example uses
// (kustomize's own types are not a dependency here); decoded strictly.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
}

// newObject returns an empty typed object for a manifest's apiVersion/kind.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}, nil
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("no schema for apiVersion %q kind %q: add it to newObject", apiVersion, kind)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decodeManifests decodes every document of a YAML stream strictly into the
// Kubernetes (or Prometheus Operator) type its apiVersion and kind name:
// unknown or misspelt fields, duplicate keys and wrong types are errors.
func decodeManifests(data []byte) ([]any, error) {
	var objs []any
	for i, doc := range docSep.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		obj, err := newObject(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

func jsonOf(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// k8sObjects decodes every manifest in examples/kubernetes/ (all *.yaml but
// jagad.yaml, which is the daemon's config, and kustomization.yaml).
func k8sObjects(t *testing.T) (files []string, objs []any) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		base := filepath.Base(p)
		if base == "jagad.yaml" || base == "kustomization.yaml" {
			continue
		}
		files = append(files, base)
		o, err := decodeManifests(readFile(t, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(o) == 0 {
			t.Errorf("%s: no manifest", p)
		}
		objs = append(objs, o...)
	}
	return files, objs
}

// TestKubernetesManifestsDecodeStrictly: every manifest decodes strictly into
// its API type, has a valid name, and kustomization.yaml lists exactly the
// manifest files.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	files, objs := k8sObjects(t)
	for _, o := range objs {
		m := o.(metav1.Object)
		if errs := validation.IsDNS1123Subdomain(m.GetName()); len(errs) > 0 {
			t.Errorf("%T name %q: %v", o, m.GetName(), errs)
		}
		if m.GetLabels()["app.kubernetes.io/name"] != "jagad" {
			t.Errorf("%T %s lacks label app.kubernetes.io/name: jagad", o, m.GetName())
		}
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(k8sDir, "kustomization.yaml")), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	res := slices.Sorted(slices.Values(k.Resources))
	if k.Kind != "Kustomization" || !slices.Equal(res, files) {
		t.Errorf("kustomization.yaml (kind %q) lists %v, the directory has %v", k.Kind, res, files)
	}
}

// TestKubernetesStrictDecodeBites: a misspelt field, a wrong type, a
// duplicate key and an unknown kind are each rejected.
func TestKubernetesStrictDecodeBites(t *testing.T) {
	dep := string(readFile(t, filepath.Join(k8sDir, "deployment.yaml")))
	for name, bad := range map[string]string{
		"misspelt field": strings.Replace(dep, "  replicas: 1", "  replica: 1", 1),
		"wrong type":     strings.Replace(dep, "  replicas: 1", "  replicas: one", 1),
		"duplicate key":  strings.Replace(dep, "  replicas: 1", "  replicas: 1\n  replicas: 2", 1),
		"unknown kind":   strings.Replace(dep, "kind: Deployment", "kind: Deploymnet", 1),
		"probe typo":     strings.Replace(dep, "path: /readyz", "pth: /readyz", 1),
	} {
		if bad == dep {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := decodeManifests([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

type k8sSet struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	secrets     map[string]*corev1.Secret
	pvcs        map[string]bool
	monitors    []*monitoringv1.ServiceMonitor
	rules       []*monitoringv1.PrometheusRule
}

func collect(objs []any) k8sSet {
	s := k8sSet{secrets: map[string]*corev1.Secret{}, pvcs: map[string]bool{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			s.deployments = append(s.deployments, o)
		case *corev1.Service:
			s.services = append(s.services, o)
		case *corev1.Secret:
			s.secrets[o.Name] = o
		case *corev1.PersistentVolumeClaim:
			s.pvcs[o.Name] = true
		case *monitoringv1.ServiceMonitor:
			s.monitors = append(s.monitors, o)
		case *monitoringv1.PrometheusRule:
			s.rules = append(s.rules, o)
		}
	}
	return s
}

func (s k8sSet) hasSecretKey(name, key string) bool {
	sec, ok := s.secrets[name]
	if !ok {
		return false
	}
	_, inString := sec.StringData[key]
	_, inData := sec.Data[key]
	return inString || inData
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func mountPath(c corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

// TestKubernetesDeployment: one replica, Recreate, non-root with a read-only
// root file system everywhere, probes on /readyz and /livez, the data dir on
// the PVC, jagad.yaml under git-sync's link, and every Secret, key, volume
// and port a manifest refers to exists.
func TestKubernetesDeployment(t *testing.T) {
	_, objs := k8sObjects(t)
	s := collect(objs)
	if len(s.deployments) != 1 {
		t.Fatalf("%d Deployments, want 1", len(s.deployments))
	}
	d := s.deployments[0]
	if r := d.Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("replicas %s, want 1", jsonOf(r))
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy %q, want Recreate", d.Spec.Strategy.Type)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	pod := d.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.PersistentVolumeClaim != nil && !s.pvcs[v.PersistentVolumeClaim.ClaimName] {
			t.Errorf("volume %s: no PersistentVolumeClaim %q", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
		if v.Secret != nil {
			if _, ok := s.secrets[v.Secret.SecretName]; !ok {
				t.Errorf("volume %s: no Secret %q", v.Name, v.Secret.SecretName)
			}
			for _, it := range v.Secret.Items {
				if !s.hasSecretKey(v.Secret.SecretName, it.Key) {
					t.Errorf("volume %s: Secret %s has no key %q", v.Name, v.Secret.SecretName, it.Key)
				}
			}
		}
	}

	var jagadC, gitSync *corev1.Container
	all := append(slices.Clone(pod.InitContainers), pod.Containers...)
	for i := range all {
		c := all[i]
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("container %s: securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, drop ALL", c.Name, sc)
		}
		if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("container %s runs as root", c.Name)
		}
		if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
			t.Errorf("container %s: image %q is not pinned to a tag", c.Name, c.Image)
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("container %s mounts undeclared volume %q", c.Name, m.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				if !s.hasSecretKey(ref.Name, ref.Key) {
					t.Errorf("container %s env %s: Secret %s has no key %q", c.Name, e.Name, ref.Name, ref.Key)
				}
			}
		}
		switch {
		case c.Name == "jagad":
			jagadC = &all[i]
		case strings.HasPrefix(c.Image, "registry.k8s.io/git-sync/git-sync:v4"):
			gitSync = &all[i]
		}
	}
	if jagadC == nil || gitSync == nil {
		t.Fatalf("want a jagad container and a git-sync v4 sidecar; have %d containers", len(all))
	}

	// git-sync: a native sidecar, sharing its root with jagad.
	if gitSync.RestartPolicy == nil || *gitSync.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("git-sync is not a sidecar (restartPolicy Always)")
	}
	root, link := envValue(*gitSync, "GITSYNC_ROOT"), envValue(*gitSync, "GITSYNC_LINK")
	if root == "" || link == "" || envValue(*gitSync, "GITSYNC_REPO") == "" {
		t.Fatalf("git-sync needs GITSYNC_REPO, GITSYNC_ROOT and GITSYNC_LINK")
	}
	var gitVol string
	for _, m := range gitSync.VolumeMounts {
		if m.MountPath == root {
			gitVol = m.Name
		}
	}
	if gitVol == "" || mountPath(*jagadC, gitVol) != root {
		t.Errorf("git-sync's root %s (volume %q) is not mounted at the same path in jagad (%q)", root, gitVol, mountPath(*jagadC, gitVol))
	}
	if cfg := envValue(*jagadC, "JAGAD_CONFIG"); !strings.HasPrefix(cfg, filepath.Join(root, link)+"/") {
		t.Errorf("JAGAD_CONFIG %q is not under git-sync's link %s", cfg, filepath.Join(root, link))
	}

	// The data dir is on the PVC.
	dataDir := envValue(*jagadC, "JAGAD_DATA_DIR")
	var dataVol string
	for _, m := range jagadC.VolumeMounts {
		if m.MountPath == dataDir {
			dataVol = m.Name
		}
	}
	if v, ok := volumes[dataVol]; !ok || v.PersistentVolumeClaim == nil {
		t.Errorf("JAGAD_DATA_DIR %q is not a PersistentVolumeClaim mount", dataDir)
	}

	// Probes on the named port.
	ports := map[string]int32{}
	for _, p := range jagadC.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, probe := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"readiness": {jagadC.ReadinessProbe, "/readyz"}, "liveness": {jagadC.LivenessProbe, "/livez"}} {
		if probe.p == nil || probe.p.HTTPGet == nil || probe.p.HTTPGet.Path != probe.path {
			t.Errorf("%s probe %+v: want GET %s", name, probe.p, probe.path)
			continue
		}
		if _, ok := ports[probe.p.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s probe port %q is not a container port %v", name, probe.p.HTTPGet.Port.String(), ports)
		}
	}
	if port := envValue(*jagadC, "JAGAD_PORT"); port != fmt.Sprint(ports["http"]) {
		t.Errorf("JAGAD_PORT %q, container port http %d", port, ports["http"])
	}

	// Service and ServiceMonitor find the pod.
	if len(s.services) != 1 || len(s.monitors) != 1 {
		t.Fatalf("%d Services and %d ServiceMonitors, want 1 each", len(s.services), len(s.monitors))
	}
	svc := s.services[0]
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pod labels %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("Service port %s targets %q, not a container port", p.Name, p.TargetPort.String())
		}
	}
	sm := s.monitors[0]
	msel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || !msel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector does not select the Service (%v)", err)
	}
	for _, ep := range sm.Spec.Endpoints {
		if !svcPorts[ep.Port] || ep.Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoint port %q path %q: want a Service port and /metrics", ep.Port, ep.Path)
		}
		if a := ep.Authorization; a == nil || a.Credentials == nil || !s.hasSecretKey(a.Credentials.Name, a.Credentials.Key) {
			t.Errorf("ServiceMonitor endpoint: the metrics token is not a key of a Secret here")
		}
	}
}

// TestKubernetesSecretsAreFake: every example secret value says FAKE, so none
// is mistaken for (or replaced by) a real one.
func TestKubernetesSecretsAreFake(t *testing.T) {
	_, objs := k8sObjects(t)
	s := collect(objs)
	if len(s.secrets) == 0 {
		t.Fatal("no Secrets")
	}
	for name, sec := range s.secrets {
		if len(sec.Data) > 0 {
			t.Errorf("Secret %s: use stringData so the fake values are readable", name)
		}
		for k, v := range sec.StringData {
			if !strings.Contains(v, "FAKE") {
				t.Errorf("Secret %s key %s: value does not say FAKE", name, k)
			}
		}
	}
}

// TestPrometheusRuleInSync: prometheusrule.yaml is what go generate makes
// from examples/prometheus/alerts.yml.
func TestPrometheusRuleInSync(t *testing.T) {
	want, err := promrule.Render(readFile(t, "prometheus/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, filepath.Join(k8sDir, "prometheusrule.yaml"))
	if !bytes.Equal(got, want) {
		t.Fatal("kubernetes/prometheusrule.yaml is out of date: run `cd examples && go generate ./...`")
	}
	objs, err := decodeManifests(got)
	if err != nil {
		t.Fatal(err)
	}
	rule := objs[0].(*monitoringv1.PrometheusRule)
	n := 0
	for _, g := range rule.Spec.Groups {
		n += len(g.Rules)
	}
	if alerts := bytes.Count(readFile(t, "prometheus/alerts.yml"), []byte("- alert: ")); n == 0 || n != alerts {
		t.Errorf("PrometheusRule has %d rules, alerts.yml %d alerts", n, alerts)
	}
}

// TestPrometheusRuleRenderStrict: a rule file with an unknown key does not
// render.
func TestPrometheusRuleRenderStrict(t *testing.T) {
	bad := bytes.Replace(readFile(t, "prometheus/alerts.yml"), []byte("expr:"), []byte("exprr:"), 1)
	if _, err := promrule.Render(bad); err == nil {
		t.Fatal("an unknown key rendered")
	}
}

// TestExampleConfigsValidate: the jagad.yaml files beside the compose and
// Kubernetes examples pass `jagad validate --strict`.
func TestExampleConfigsValidate(t *testing.T) {
	bin := buildJagad(t)
	for _, f := range []string{"compose/jagad.yaml", "kubernetes/jagad.yaml"} {
		cmd := exec.Command(bin, "validate", "--strict", "-f", f)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("OK")) {
			t.Errorf("jagad validate --strict %s: %v\n%s", f, err, out)
		}
	}
}
