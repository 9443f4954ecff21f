package examples

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const k8sLeaseDir = "kubernetes/lease"

// leaseKustomization is the part of a Kustomization the lease overlay uses.
type leaseKustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Patches    []struct {
		Patch string `json:"patch"`
	} `json:"patches"`
}

// leaseObjects decodes the overlay's manifests strictly, and returns them
// with the overlay.
func leaseObjects(t *testing.T) (leaseKustomization, []any) {
	t.Helper()
	var k leaseKustomization
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(k8sLeaseDir, "kustomization.yaml")), &k); err != nil {
		t.Fatalf("lease/kustomization.yaml: %v", err)
	}
	paths, err := filepath.Glob(filepath.Join(k8sLeaseDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var objs []any
	for _, p := range paths {
		base := filepath.Base(p)
		if base == "kustomization.yaml" {
			continue
		}
		files = append(files, base)
		o, err := decodeManifests(readFile(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		objs = append(objs, o...)
	}
	if want := append([]string{"../"}, files...); !slices.Equal(slices.Sorted(slices.Values(k.Resources)), slices.Sorted(slices.Values(want))) {
		t.Errorf("lease/kustomization.yaml lists %v, want the base and the directory's files %v", k.Resources, want)
	}
	return k, objs
}

// TestKubernetesLeaseOverlay: the overlay deletes exactly the base's
// Deployment and PersistentVolumeClaim (each delete patch names an object of
// the base), and what remains of the base plus the overlay has one workload,
// the StatefulSet.
func TestKubernetesLeaseOverlay(t *testing.T) {
	k, objs := leaseObjects(t)
	_, baseObjs := k8sObjects(t)
	type ref struct{ kind, name string }
	deleted := map[ref]bool{}
	for _, p := range k.Patches {
		var obj struct {
			Patch    string            `json:"$patch"`
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(p.Patch), &obj); err != nil || obj.Patch != "delete" {
			t.Fatalf("patch %q: want a $patch: delete (%v)", p.Patch, err)
		}
		deleted[ref{obj.Kind, obj.Metadata.Name}] = true
	}
	var kept []any
	found := map[ref]bool{}
	for _, o := range baseObjs {
		r := ref{kindOf(o), o.(metav1.Object).GetName()}
		if deleted[r] {
			found[r] = true
			continue
		}
		kept = append(kept, o)
	}
	for r := range deleted {
		if !found[r] {
			t.Errorf("a delete patch names %s %s, which the base does not have", r.kind, r.name)
		}
	}
	if !deleted[ref{"Deployment", "jagad"}] || !deleted[ref{"PersistentVolumeClaim", "jagad-data"}] {
		t.Errorf("the overlay must delete the base's Deployment and its PersistentVolumeClaim: %v", deleted)
	}
	var workloads []string
	for _, o := range append(kept, objs...) {
		switch o.(type) {
		case *appsv1.Deployment, *appsv1.StatefulSet:
			workloads = append(workloads, kindOf(o))
		}
	}
	if !slices.Equal(workloads, []string{"StatefulSet"}) {
		t.Errorf("workloads after the overlay: %v, want one StatefulSet", workloads)
	}
}

func kindOf(o any) string {
	switch o.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *appsv1.StatefulSet:
		return "StatefulSet"
	case *corev1.PersistentVolumeClaim:
		return "PersistentVolumeClaim"
	case *corev1.ServiceAccount:
		return "ServiceAccount"
	case *rbacv1.Role:
		return "Role"
	case *rbacv1.RoleBinding:
		return "RoleBinding"
	}
	return ""
}

// TestKubernetesLeaseStatefulSet: three replicas, a data volume per replica
// at JAGAD_DATA_DIR, the Lease mode's variables (names the daemon reads),
// the namespace and identity from the pod, a service account whose Role
// grants the Lease verbs the leader election uses (client-go's protocol), and the base's
// Service still selecting the pods.
func TestKubernetesLeaseStatefulSet(t *testing.T) {
	_, objs := leaseObjects(t)
	var sts []*appsv1.StatefulSet
	var sas []*corev1.ServiceAccount
	roles := map[string]*rbacv1.Role{}
	var bindings []*rbacv1.RoleBinding
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.StatefulSet:
			sts = append(sts, o)
		case *corev1.ServiceAccount:
			sas = append(sas, o)
		case *rbacv1.Role:
			roles[o.Name] = o
		case *rbacv1.RoleBinding:
			bindings = append(bindings, o)
		}
	}
	if len(sts) != 1 || len(sas) != 1 || len(roles) != 1 || len(bindings) != 1 {
		t.Fatalf("%d StatefulSets, %d ServiceAccounts, %d Roles, %d RoleBindings; want one each", len(sts), len(sas), len(roles), len(bindings))
	}
	s := sts[0]
	if r := s.Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("replicas %s, want 3", jsonOf(r))
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(s.Spec.Template.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v (%v)", s.Spec.Selector, s.Spec.Template.Labels, err)
	}
	pod := s.Spec.Template.Spec
	if pod.ServiceAccountName != sas[0].Name {
		t.Errorf("serviceAccountName %q, the ServiceAccount is %q", pod.ServiceAccountName, sas[0].Name)
	}
	if a := pod.AutomountServiceAccountToken; a != nil && !*a {
		t.Error("automountServiceAccountToken is false: the pod cannot reach the API server for the Lease")
	}

	var c *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "jagad" {
			c = &pod.Containers[i]
		}
	}
	if c == nil {
		t.Fatal("no jagad container")
	}
	// A data volume per replica, at the data dir.
	dataVol := ""
	for _, m := range c.VolumeMounts {
		if m.MountPath == envValue(*c, "JAGAD_DATA_DIR") {
			dataVol = m.Name
		}
	}
	var templates []string
	for _, v := range s.Spec.VolumeClaimTemplates {
		templates = append(templates, v.Name)
	}
	if dataVol == "" || !slices.Contains(templates, dataVol) {
		t.Errorf("JAGAD_DATA_DIR is on volume %q, the claim templates are %v: each replica needs its own", dataVol, templates)
	}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("volume %s: a shared PersistentVolumeClaim in a StatefulSet of 3", v.Name)
		}
	}
	if r := c.ReadinessProbe; r == nil || r.HTTPGet == nil || r.HTTPGet.Path != "/readyz" {
		t.Error("no readiness probe on /readyz (it takes a member cut off from the API server out of the Service)")
	}

	// The Lease mode's variables: the daemon reads each name, the etcd
	// mode's are absent, the namespace and identity come from the pod.
	daemonSrc := daemonSource(t)
	fieldRefs := map[string]string{}
	var clusterVars []string
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "JAGAD_CLUSTER_") {
			continue
		}
		clusterVars = append(clusterVars, e.Name)
		if !strings.Contains(daemonSrc, `"`+e.Name+`"`) {
			t.Errorf("env %s: the daemon reads no such variable", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			fieldRefs[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	for _, name := range []string{"JAGAD_CLUSTER_ENDPOINTS", "JAGAD_CLUSTER_GROUP", "JAGAD_CLUSTER_LEASE_TTL"} {
		if slices.Contains(clusterVars, name) {
			t.Errorf("env %s is an etcd setting: the daemon refuses it beside the Lease mode", name)
		}
	}
	if fieldRefs["JAGAD_CLUSTER_K8S_NAMESPACE"] != "metadata.namespace" || fieldRefs["JAGAD_CLUSTER_MEMBER"] != "metadata.name" {
		t.Errorf("the Lease's namespace and the member's identity must come from the pod: %v", fieldRefs)
	}
	leaseName := envValue(*c, "JAGAD_CLUSTER_K8S_NAME")
	if leaseName == "" {
		t.Error("JAGAD_CLUSTER_K8S_NAME is not set")
	}

	// RBAC: the binding gives the pod's service account a Role that covers
	// the Lease verbs.
	b := bindings[0]
	role, ok := roles[b.RoleRef.Name]
	if b.RoleRef.Kind != "Role" || b.RoleRef.APIGroup != rbacv1.GroupName || !ok {
		t.Fatalf("RoleBinding %s refers to %s %q, not the Role here", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
	}
	bound := false
	for _, sub := range b.Subjects {
		bound = bound || (sub.Kind == rbacv1.ServiceAccountKind && sub.Name == pod.ServiceAccountName && sub.Namespace == "")
	}
	if !bound {
		t.Errorf("RoleBinding %s does not bind the pod's service account %q (in its own namespace)", b.Name, pod.ServiceAccountName)
	}
	for _, verb := range []string{"get", "create", "update"} {
		if !allows(role, "coordination.k8s.io", "leases", leaseName, verb) {
			t.Errorf("Role %s does not allow %s on coordination.k8s.io leases/%s", role.Name, verb, leaseName)
		}
	}
	for _, verb := range []string{"list", "watch", "patch", "delete", "deletecollection"} {
		if allows(role, "coordination.k8s.io", "leases", leaseName, verb) {
			t.Errorf("Role %s allows %s on Leases, which the election never uses", role.Name, verb)
		}
	}
	for _, r := range role.Rules {
		if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*") ||
			!slices.Equal(r.Resources, []string{"leases"}) {
			t.Errorf("Role %s grants more than Leases: %+v", role.Name, r)
		}
	}

	// The base's Service selects the replicas.
	_, baseObjs := k8sObjects(t)
	for _, o := range baseObjs {
		if svc, ok := o.(*corev1.Service); ok && !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(s.Spec.Template.Labels)) {
			t.Errorf("the base's Service %s does not select the StatefulSet's pods", svc.Name)
		}
	}
}

// allows reports whether one of role's rules grants verb on the named
// resource.
func allows(role *rbacv1.Role, group, resource, name, verb string) bool {
	for _, r := range role.Rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
			(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name)) {
			return true
		}
	}
	return false
}

// daemonSource is the text of the daemon's non-test Go files that read the
// environment (cmd/jagad and config), to check variable names against.
func daemonSource(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range []string{"../cmd/jagad", "../config"} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
	}
	if !regexp.MustCompile(`"JAGAD_CLUSTER_K8S_[A-Z_]+"`).MatchString(b.String()) {
		t.Fatal("the daemon's source has no JAGAD_CLUSTER_K8S_* variable")
	}
	return b.String()
}

// TestKubernetesLeaseChecksBite: a StatefulSet of 1, a Role without update
// and an env name the daemon does not read are each caught.
func TestKubernetesLeaseChecksBite(t *testing.T) {
	sts := string(readFile(t, filepath.Join(k8sLeaseDir, "statefulset.yaml")))
	rbac := string(readFile(t, filepath.Join(k8sLeaseDir, "rbac.yaml")))
	one := strings.Replace(sts, "replicas: 3", "replicas: 1", 1)
	objs, err := decodeManifests([]byte(one))
	if err != nil || one == sts {
		t.Fatalf("replace replicas: %v", err)
	}
	if r := objs[0].(*appsv1.StatefulSet).Spec.Replicas; r == nil || *r != 1 {
		t.Fatal("the edited StatefulSet does not have 1 replica")
	}
	noUpdate := strings.Replace(rbac, "get, create, update]", "get, create]", 1)
	objs, err = decodeManifests([]byte(noUpdate))
	if err != nil || noUpdate == rbac {
		t.Fatalf("replace verbs: %v", err)
	}
	for _, o := range objs {
		if r, ok := o.(*rbacv1.Role); ok && allows(r, "coordination.k8s.io", "leases", "jagad", "update") {
			t.Error("a Role without update allows update")
		}
	}
	if strings.Contains(daemonSource(t), `"JAGAD_CLUSTER_K8S_LEASE_NAME"`) {
		t.Error("a variable name the daemon does not read was found in its source")
	}
}
