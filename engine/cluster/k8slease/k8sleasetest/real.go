//go:build kubeapiserver

package k8sleasetest

// Real runs a real kube-apiserver (the binary `make test-k8s` builds from
// the version pinned in .ci/tools/kubeapi) on a throwaway etcd, on
// loopback, for the election tests in realapi_test.go.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/etcdtest"
)

// RealNamespace is the namespace StartReal makes and lets user RealUser
// use Leases in.
const RealNamespace = "backups"

// RealUser is the user of the kubeconfigs Real writes: it may get, create
// and update Leases in RealNamespace and nothing else (RealVerbs).
const RealUser = "jagad"

// RealVerbs are the verbs the Role grants RealUser on Leases: what the
// election needs, and what README says the pods' service account needs.
var RealVerbs = []string{"get", "create", "update"}

// Real is a kube-apiserver process with its etcd. Kubeconfig is for
// RealUser; Holder, Lease, Change and Delete act as a cluster admin.
type Real struct {
	URL string
	// Token is RealUser's bearer token, in the kubeconfigs (tests check
	// that it is not logged).
	Token string

	t          testing.TB
	dir        string
	caFile     string
	hc         *http.Client
	adminToken string
	logFile    string
}

// StartReal starts etcd and the kube-apiserver at $JAGAD_KUBE_APISERVER,
// waits until it is ready, and makes RealNamespace with a Role and
// RoleBinding for RealUser. Both processes stop when t ends. Without the
// binary or etcd the test fails: `make test-k8s` builds the binary.
func StartReal(t testing.TB) *Real {
	t.Helper()
	bin := os.Getenv("JAGAD_KUBE_APISERVER")
	if bin == "" {
		t.Fatal("JAGAD_KUBE_APISERVER is not set: run these tests with `make test-k8s`, which builds a kube-apiserver into .bin/")
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("JAGAD_KUBE_APISERVER=%s is not an executable (%v): `make test-k8s` builds it", bin, err)
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatalf("etcd not found (apt-get install etcd-server; .ci/services.sh installs it): %v", err)
	}
	etcd := etcdtest.Start(t)

	r := &Real{t: t, dir: t.TempDir()}
	r.caFile = filepath.Join(r.dir, "ca.crt")
	r.logFile = filepath.Join(r.dir, "kube-apiserver.log")
	pool, err := r.writePKI()
	if err != nil {
		t.Fatalf("certificates: %v", err)
	}
	r.adminToken, r.Token = randomToken(), randomToken()
	// token,user,uid,"groups": the tokens stay in this file, never in argv.
	tokens := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,%s,%s-uid\n", r.adminToken, r.Token, RealUser, RealUser)
	if err := os.WriteFile(filepath.Join(r.dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	r.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	t.Cleanup(r.hc.CloseIdleConnections)

	addr := freeAddr(t)
	r.URL = "https://" + addr
	_, port, _ := net.SplitHostPort(addr)
	logf, err := os.OpenFile(r.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--cert-dir="+r.dir,
		"--tls-cert-file="+filepath.Join(r.dir, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(r.dir, "apiserver.key"),
		"--etcd-servers="+etcd.Endpoint(),
		"--service-account-issuer="+r.URL,
		"--service-account-key-file="+filepath.Join(r.dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(r.dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--token-auth-file="+filepath.Join(r.dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		// With a loopback advertise address the default reconciler of the
		// kubernetes Service's endpoints refuses to start.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		// spec.strategy and spec.preferredHolder (coordinated leader
		// election) are kept only with this gate, off by default: a
		// renewal must keep them where a cluster uses them.
		"--feature-gates=CoordinatedLeaderElection=true",
		"--runtime-config=coordination.k8s.io/v1beta1=true",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start kube-apiserver: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("kube-apiserver log (tail):\n%s", r.logTail())
		}
	})

	r.waitReady(exited)
	r.setUpRBAC()
	return r
}

// waitReady waits for /readyz, failing after two minutes or when the
// process exits (a hang or a crash, not a timing assertion).
func (r *Real) waitReady(exited <-chan struct{}) {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, body, err := r.admin(http.MethodGet, "/readyz", nil)
		if err == nil && code == http.StatusOK {
			return
		}
		select {
		case <-exited:
			r.t.Fatalf("kube-apiserver exited at start:\n%s", r.logTail())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("kube-apiserver not ready within 2 min (%d %s, %v):\n%s", code, body, err, r.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setUpRBAC makes the namespace, the Role and the RoleBinding, then waits
// until the authorizer applies them (its cache follows the objects).
func (r *Real) setUpRBAC() {
	r.t.Helper()
	objs := []struct {
		path string
		obj  map[string]any
	}{
		{"/api/v1/namespaces", map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": RealNamespace}}},
		{"/apis/rbac.authorization.k8s.io/v1/namespaces/" + RealNamespace + "/roles", map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
			"metadata": map[string]any{"name": "jagad-leader-election", "namespace": RealNamespace},
			"rules": []any{map[string]any{"apiGroups": []string{"coordination.k8s.io"},
				"resources": []string{"leases"}, "verbs": RealVerbs}}}},
		{"/apis/rbac.authorization.k8s.io/v1/namespaces/" + RealNamespace + "/rolebindings", map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "jagad-leader-election", "namespace": RealNamespace},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "jagad-leader-election"},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": RealUser}}}},
	}
	for _, o := range objs {
		code, body, err := r.admin(http.MethodPost, o.path, o.obj)
		if err != nil || code != http.StatusCreated {
			r.t.Fatalf("POST %s: %d %s %v", o.path, code, body, err)
		}
	}
	path := leasePath(RealNamespace, "rbac-probe")
	deadline := time.Now().Add(time.Minute)
	for {
		code, body, err := r.do(r.Token, http.MethodGet, path, nil)
		if err == nil && code == http.StatusNotFound {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the Role is not applied for %s within a minute: GET %s: %d %s %v", RealUser, path, code, body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kubeconfig writes a kubeconfig for RealUser (the CA as a file, its
// token inline) with namespace as the context's.
func (r *Real) Kubeconfig(t testing.TB, namespace string) string {
	t.Helper()
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: %s
    namespace: %s
`, r.URL, r.caFile, RealUser, r.Token, RealUser, namespace)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Holder is the Lease's spec.holderIdentity; ok false when there is no
// Lease.
func (r *Real) Holder(namespace, name string) (holder string, ok bool) {
	obj := r.Lease(namespace, name)
	if obj == nil {
		return "", false
	}
	spec, _ := obj["spec"].(map[string]any)
	holder, _ = spec["holderIdentity"].(string)
	return holder, true
}

// Lease is the Lease as the server has it (nil when there is none).
func (r *Real) Lease(namespace, name string) map[string]any {
	obj, err := r.getLease(namespace, name, false)
	if err != nil {
		r.t.Errorf("read Lease %s/%s: %v", namespace, name, err)
	}
	return obj
}

// Change reads the Lease, changes it and writes it back at the
// resourceVersion it read, again after a conflict; false when there is
// none.
func (r *Real) Change(namespace, name string, change func(obj map[string]any)) bool {
	for {
		obj, err := r.getLease(namespace, name, true)
		if err != nil {
			r.t.Errorf("read Lease %s/%s: %v", namespace, name, err)
			return false
		}
		if obj == nil {
			return false
		}
		change(obj)
		code, body, err := r.admin(http.MethodPut, leasePath(namespace, name), obj)
		switch {
		case err != nil:
			r.t.Errorf("write Lease %s/%s: %v", namespace, name, err)
			return false
		case code == http.StatusOK:
			return true
		case code == http.StatusConflict:
			continue // written meanwhile: read it again
		case code == http.StatusNotFound:
			return false
		default:
			r.t.Errorf("write Lease %s/%s: %d %s", namespace, name, code, body)
			return false
		}
	}
}

// Delete deletes the Lease as `kubectl delete lease` would; false when
// there was none.
func (r *Real) Delete(namespace, name string) bool {
	code, body, err := r.admin(http.MethodDelete, leasePath(namespace, name), nil)
	switch {
	case err != nil:
		r.t.Errorf("delete Lease %s/%s: %v", namespace, name, err)
		return false
	case code == http.StatusNotFound:
		return false
	case code != http.StatusOK:
		r.t.Errorf("delete Lease %s/%s: %d %s", namespace, name, code, body)
		return false
	}
	return true
}

// getLease reads a Lease as admin: nil, nil when there is none. numbers:
// JSON numbers as json.Number (to write the object back unchanged), else
// float64.
func (r *Real) getLease(namespace, name string, numbers bool) (map[string]any, error) {
	code, body, err := r.admin(http.MethodGet, leasePath(namespace, name), nil)
	if err != nil {
		return nil, err
	}
	if code == http.StatusNotFound {
		return nil, nil
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("%d %s", code, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if numbers {
		dec.UseNumber()
	}
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return obj, nil
}

func leasePath(namespace, name string) string {
	return "/apis/coordination.k8s.io/v1/namespaces/" + url.PathEscape(namespace) + "/leases/" + url.PathEscape(name)
}

// admin sends one request as the cluster admin.
func (r *Real) admin(method, path string, obj any) (int, []byte, error) {
	return r.do(r.adminToken, method, path, obj)
}

func (r *Real) do(token, method, path string, obj any) (int, []byte, error) {
	var body io.Reader
	if obj != nil {
		b, err := json.Marshal(obj)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.URL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "jagad-k8sleasetest")
	if obj != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, data, nil
}

// logTail is the end of the kube-apiserver's log.
func (r *Real) logTail() string {
	b, err := os.ReadFile(r.logFile)
	if err != nil {
		return err.Error()
	}
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// writePKI writes a CA (ca.crt), the serving certificate it signed for
// 127.0.0.1 and localhost (apiserver.crt, .key) and the service-account
// signing key (sa.key, sa.pub); it returns a pool with the CA.
func (r *Real) writePKI() (*x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jagad-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	srvKeyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	saKeyDER, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, typ string
		der       []byte
	}{
		{"ca.crt", "CERTIFICATE", caDER},
		{"apiserver.crt", "CERTIFICATE", srvDER},
		{"apiserver.key", "PRIVATE KEY", srvKeyDER},
		{"sa.key", "PRIVATE KEY", saKeyDER},
		{"sa.pub", "PUBLIC KEY", saPub},
	} {
		data := pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der})
		if err := os.WriteFile(filepath.Join(r.dir, f.name), data, 0o600); err != nil {
			return nil, err
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
