package k8slease

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func caPEM(api *k8sleasetest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}))
}

// TestKubeconfigFileForms: the CA as a file relative to the kubeconfig,
// the token from a tokenFile, the namespace of the current context (not of
// another one); the client reaches the server with them.
func TestKubeconfigFileForms(t *testing.T) {
	api := newAPI(t)
	dir := t.TempDir()
	writeFile(t, dir, "ca.crt", caPEM(api))
	writeFile(t, dir, "token", api.Token+"\n")
	kc := writeFile(t, dir, "kubeconfig", `apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: other
  cluster: {server: "https://192.0.2.1:6443"}
- name: prod
  cluster:
    server: `+api.URL+`
    certificate-authority: ca.crt
users:
- name: jagad
  user: {tokenFile: token}
contexts:
- name: dev
  context: {cluster: other, user: jagad, namespace: dev}
- name: prod
  context: {cluster: prod, user: jagad, namespace: backups}
`)
	cli, ns, err := NewClient(kc, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ns != "backups" {
		t.Errorf("namespace %q, want the current context's", ns)
	}
	if _, err := cli.Get(context.Background(), "backups", "jagad"); !IsNotFound(err) {
		t.Fatalf("Get of a missing Lease: %v, want NotFound", err)
	}
	l, err := cli.Create(context.Background(), &Lease{Namespace: "backups", Name: "jagad", Record: Record{Holder: "a", LeaseDurationSeconds: 15}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Create(context.Background(), l); !IsAlreadyExists(err) {
		t.Errorf("second Create: %v, want AlreadyExists", err)
	}
	stale := *l
	next := *l
	next.Holder = "b" // a write that changes nothing keeps the resourceVersion
	if _, err := cli.Update(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Update(context.Background(), &stale); !IsConflict(err) {
		t.Errorf("Update at a stale resourceVersion: %v, want Conflict", err)
	}
}

// TestKubeconfigClientCertificate: a user with a client certificate and
// key inline (base64) is presented to a server that requires one.
func TestKubeconfigClientCertificate(t *testing.T) {
	certPEM, keyPEM := selfSigned(t, "jagad")
	var gotCN string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCN = r.TLS.PeerCertificates[0].Subject.CommonName
		http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`, http.StatusNotFound)
	}))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(certPEM))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	b64 := func(s string) string { return b64enc([]byte(s)) }
	kc := writeFile(t, t.TempDir(), "kubeconfig", `current-context: c
clusters: [{name: k, cluster: {server: `+srv.URL+`, certificate-authority-data: `+b64enc(ca)+`}}]
users: [{name: u, user: {client-certificate-data: `+b64(certPEM)+`, client-key-data: `+b64(keyPEM)+`}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
`)
	cli, ns, err := NewClient(kc, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ns != "" {
		t.Errorf("namespace %q from a context without one", ns)
	}
	if _, err := cli.Get(context.Background(), "backups", "jagad"); !IsNotFound(err) {
		t.Fatalf("Get: %v", err)
	}
	if gotCN != "jagad" {
		t.Errorf("the server saw client certificate %q", gotCN)
	}
}

// TestKubeconfigRefused: what the client cannot use is a clear error at
// start, and a token never appears in one.
func TestKubeconfigRefused(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ file, want string }{
		"exec plugin": {`current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {exec: {command: aws, args: [eks, get-token]}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]`, "credential plugins"},
		"auth-provider": {`current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {auth-provider: {name: gcp}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]`, "credential plugins"},
		"no current context": {`clusters: []`, "no current-context"},
		"unknown context":    {`current-context: x`, `current-context "x"`},
		"unknown cluster": {`current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]`, `cluster "k"`},
		"unknown user": {`current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]`, `user "u"`},
		"not a URL": {`current-context: c
clusters: [{name: k, cluster: {server: "127.0.0.1"}}]
contexts: [{name: c, context: {cluster: k}}]`, "not a URL"},
		"missing CA file": {`current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", certificate-authority: nope.crt}}]
contexts: [{name: c, context: {cluster: k}}]`, "certificate-authority"},
		"bad key pair": {`current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: s3cret-token, client-certificate-data: AAAA, client-key-data: AAAA}}]
contexts: [{name: c, context: {cluster: k, user: u}}]`, "not a matching PEM pair"},
		"not YAML": {"\t:::", "not a kubeconfig"},
	} {
		p := writeFile(t, dir, strings.ReplaceAll(name, " ", "-"), tc.file)
		_, _, err := NewClient(p, time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the token is in the error: %v", name, err)
		}
	}
	if _, _, err := NewClient(filepath.Join(dir, "missing"), time.Second); err == nil {
		t.Error("a missing kubeconfig file was accepted")
	}
}

// TestInClusterConfig: the pod's service account: the server from
// KUBERNETES_SERVICE_HOST/PORT, the mounted CA and token, which is read
// again once it has been rotated.
func TestInClusterConfig(t *testing.T) {
	api := newAPI(t)
	u, err := url.Parse(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port()}
	if _, err := inClusterConfig(func(k string) string { return env[k] }, dir); err == nil {
		t.Fatal("accepted a service account without a token")
	}
	writeFile(t, dir, "token", "old-token")
	writeFile(t, dir, "ca.crt", caPEM(api))
	cfg, err := inClusterConfig(func(k string) string { return env[k] }, dir)
	if err != nil {
		t.Fatal(err)
	}
	cli := cfg.client(time.Second)
	if _, err := cli.Get(context.Background(), "backups", "jagad"); !isStatus(err, http.StatusUnauthorized, "") {
		t.Fatalf("with the old token: %v, want 401", err)
	}
	writeFile(t, dir, "token", api.Token) // rotated by the kubelet
	cli.token.mu.Lock()
	cli.token.read = time.Now().Add(-tokenReread) // as a minute later
	cli.token.mu.Unlock()
	if _, err := cli.Get(context.Background(), "backups", "jagad"); !IsNotFound(err) {
		t.Fatalf("with the rotated token: %v, want NotFound", err)
	}
	if _, err := inClusterConfig(func(string) string { return "" }, dir); err == nil ||
		!strings.Contains(err.Error(), "KUBERNETES_SERVICE_HOST") {
		t.Errorf("outside a pod: %v", err)
	}
}

func selfSigned(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

func b64enc(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
