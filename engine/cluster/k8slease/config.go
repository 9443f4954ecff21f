package k8slease

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// The pod's service account, as Kubernetes mounts it.
const (
	serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	// tokenReread: a projected service-account token is rotated by the
	// kubelet well before it expires; it is read again this often.
	tokenReread = time.Minute
)

// NewClient connects to the API server for Leases: with the pod's service
// account when kubeconfig is empty (KUBERNETES_SERVICE_HOST/PORT, the
// mounted token and CA), else with the kubeconfig file's current context.
// namespace is that context's namespace ("" when it names none). timeout
// bounds one request; keep it below the renew deadline so that one hung
// request cannot cost the leadership (half of it is client-go's advice).
func NewClient(kubeconfig string, timeout time.Duration) (c *HTTPClient, namespace string, err error) {
	var cfg restConfig
	if kubeconfig == "" {
		cfg, err = inClusterConfig(os.Getenv, serviceAccountDir)
		if err != nil {
			return nil, "", fmt.Errorf("kubernetes in-cluster config (not in a pod? set kubeconfig): %w", err)
		}
	} else {
		cfg, err = kubeconfigFile(kubeconfig)
		if err != nil {
			return nil, "", fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	}
	return cfg.client(timeout), cfg.namespace, nil
}

// restConfig is where the API server is and how to prove who we are.
type restConfig struct {
	server    *url.URL
	tls       *tls.Config
	token     *tokenSource
	namespace string
}

func (r restConfig) client(timeout time.Duration) *HTTPClient {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     r.tls,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 2,
	}
	return &HTTPClient{server: r.server, hc: &http.Client{Transport: tr}, token: r.token, timeout: timeout}
}

// inClusterConfig is the pod's service account's (client-go's
// rest.InClusterConfig).
func inClusterConfig(getenv func(string) string, dir string) (restConfig, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return restConfig{}, errors.New("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
	}
	tok := &tokenSource{file: filepath.Join(dir, "token")}
	if _, err := tok.get(); err != nil {
		return restConfig{}, err
	}
	pool, err := caPool(filepath.Join(dir, "ca.crt"), "")
	if err != nil {
		return restConfig{}, err
	}
	return restConfig{
		server: &url.URL{Scheme: "https", Host: net.JoinHostPort(host, port)},
		tls:    &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		token:  tok,
	}, nil
}

// kubeconfig is the part of a kubeconfig file NewClient reads.
type kubeconfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server        string `yaml:"server"`
			CA            string `yaml:"certificate-authority"`
			CAData        string `yaml:"certificate-authority-data"`
			Insecure      bool   `yaml:"insecure-skip-tls-verify"`
			TLSServerName string `yaml:"tls-server-name"`
			ProxyURL      string `yaml:"proxy-url"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			Token          string    `yaml:"token"`
			TokenFile      string    `yaml:"tokenFile"`
			ClientCert     string    `yaml:"client-certificate"`
			ClientCertData string    `yaml:"client-certificate-data"`
			ClientKey      string    `yaml:"client-key"`
			ClientKeyData  string    `yaml:"client-key-data"`
			Username       string    `yaml:"username"`
			Exec           yaml.Node `yaml:"exec"`
			AuthProvider   yaml.Node `yaml:"auth-provider"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster   string `yaml:"cluster"`
			User      string `yaml:"user"`
			Namespace string `yaml:"namespace"`
		} `yaml:"context"`
	} `yaml:"contexts"`
}

// kubeconfigFile reads the current context of a kubeconfig file: the
// cluster's server and CA, the user's token, token file or client
// certificate. Credential plugins (exec, auth-provider) are refused: the
// daemon would have to run a cloud's command line; give it a service
// account token instead. Relative paths are the file's directory's.
func kubeconfigFile(path string) (restConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return restConfig{}, err
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return restConfig{}, fmt.Errorf("not a kubeconfig file: %w", err)
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(path), p)
	}
	if kc.CurrentContext == "" {
		return restConfig{}, errors.New("no current-context")
	}
	ci := -1
	for i, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			ci = i
		}
	}
	if ci < 0 {
		return restConfig{}, fmt.Errorf("current-context %q is not among its contexts", kc.CurrentContext)
	}
	ctx := kc.Contexts[ci].Context
	var cfg restConfig
	cfg.namespace = ctx.Namespace

	found := false
	for _, c := range kc.Clusters {
		if c.Name != ctx.Cluster {
			continue
		}
		found = true
		cl := c.Cluster
		u, err := url.Parse(cl.Server)
		if err != nil || u.Host == "" {
			return restConfig{}, fmt.Errorf("cluster %q: server %q is not a URL", c.Name, cl.Server)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			return restConfig{}, fmt.Errorf("cluster %q: server %q: want https://", c.Name, cl.Server)
		}
		if cl.ProxyURL != "" {
			return restConfig{}, fmt.Errorf("cluster %q: proxy-url is not supported; set HTTPS_PROXY instead", c.Name)
		}
		cfg.server = u
		cfg.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cl.TLSServerName}
		if cl.Insecure {
			cfg.tls.InsecureSkipVerify = true // the file asks for it
		} else if cl.CA != "" || cl.CAData != "" {
			if cfg.tls.RootCAs, err = caPool(rel(cl.CA), cl.CAData); err != nil {
				return restConfig{}, fmt.Errorf("cluster %q: %w", c.Name, err)
			}
		}
	}
	if !found {
		return restConfig{}, fmt.Errorf("context %q names cluster %q, which the file does not have", kc.CurrentContext, ctx.Cluster)
	}

	found = false
	for _, u := range kc.Users {
		if u.Name != ctx.User {
			continue
		}
		found = true
		us := u.User
		switch {
		case !us.Exec.IsZero() || !us.AuthProvider.IsZero():
			return restConfig{}, fmt.Errorf("user %q: credential plugins (exec, auth-provider) are not supported: give Jagad a token, a tokenFile or a client certificate (in a pod: its service account)", u.Name)
		case us.Username != "":
			return restConfig{}, fmt.Errorf("user %q: basic authentication is not supported by Kubernetes any more: use a token", u.Name)
		case us.Token != "":
			cfg.token = &tokenSource{static: us.Token}
		case us.TokenFile != "":
			cfg.token = &tokenSource{file: rel(us.TokenFile)}
			if _, err := cfg.token.get(); err != nil {
				return restConfig{}, fmt.Errorf("user %q: %w", u.Name, err)
			}
		}
		if us.ClientCert != "" || us.ClientCertData != "" {
			cert, err := clientCert(rel(us.ClientCert), us.ClientCertData, rel(us.ClientKey), us.ClientKeyData)
			if err != nil {
				return restConfig{}, fmt.Errorf("user %q: %w", u.Name, err)
			}
			cfg.tls.Certificates = []tls.Certificate{cert}
		}
	}
	if !found && ctx.User != "" {
		return restConfig{}, fmt.Errorf("context %q names user %q, which the file does not have", kc.CurrentContext, ctx.User)
	}
	return cfg, nil
}

// fileOrData is a kubeconfig's path-or-inline pair: the inline data is
// base64.
func fileOrData(file, data, what string) ([]byte, error) {
	if data != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
		if err != nil {
			return nil, fmt.Errorf("%s-data is not base64: %w", what, err)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

func caPool(file, data string) (*x509.CertPool, error) {
	pem, err := fileOrData(file, data, "certificate-authority")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("certificate-authority: no PEM certificate in it")
	}
	return pool, nil
}

func clientCert(certFile, certData, keyFile, keyData string) (tls.Certificate, error) {
	cert, err := fileOrData(certFile, certData, "client-certificate")
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := fileOrData(keyFile, keyData, "client-key")
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		// The key's bytes never go into the message.
		return tls.Certificate{}, errors.New("client-certificate and client-key are not a matching PEM pair")
	}
	return pair, nil
}

// tokenSource is a bearer token, static or read from a file again every
// tokenReread (a rotated service-account token).
type tokenSource struct {
	static string
	file   string

	mu     sync.Mutex
	cached string
	read   time.Time
}

func (t *tokenSource) get() (string, error) {
	if t.file == "" {
		return t.static, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cached != "" && time.Since(t.read) < tokenReread {
		return t.cached, nil
	}
	b, err := os.ReadFile(t.file)
	if err != nil {
		if t.cached != "" { // keep the last one; the next request reads again
			return t.cached, nil
		}
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", t.file)
	}
	t.cached, t.read = tok, time.Now()
	return tok, nil
}
