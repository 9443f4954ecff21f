// Package k8sleasetest serves coordination.k8s.io/v1 Leases over HTTPS as
// a Kubernetes API server does, for the tests of the Lease mode in `make
// test`: no package provides a kube-apiserver (`make test-k8s` builds one
// from source, minutes of a cold build: StartReal in real.go, build tag
// kubeapiserver), and the election needs nothing from the server but the
// Lease endpoints.
// What the protocol's safety rests on is done as the real server does it:
// a write must carry the resourceVersion it read (409 Conflict when it
// changed, 422 Invalid when missing), a write that changes nothing keeps
// the resourceVersion, an update of a deleted Lease fails on its uid (409
// Conflict) and one without a uid creates it (Leases allow create on
// update), a create of an existing Lease is 409 AlreadyExists, a missing
// one 404 NotFound, an invalid name, duration or transition count 422
// Invalid, a request without the bearer token 401, each as a
// metav1.Status; fields the server does not interpret are stored as sent.
// The same checks (testAPIAnswers in engine/cluster/k8slease) run against
// a real kube-apiserver 1.37 in realapi_test.go (`make test-k8s`).
package k8sleasetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a Lease API over HTTPS with one bearer token.
type Server struct {
	*httptest.Server
	Token string

	mu     sync.Mutex
	rv     int64
	leases map[string]map[string]any // namespace/name → object
}

// New starts a server, closed when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{Token: "test-token-" + strconv.FormatInt(time.Now().UnixNano(), 36), leases: map[string]map[string]any{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Kubeconfig writes a kubeconfig file for the server (its CA inline, the
// token) with namespace as the context's, and returns its path.
func (s *Server) Kubeconfig(t testing.TB, namespace string) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: jagad
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: jagad
    namespace: %s
`, s.URL, base64.StdEncoding.EncodeToString(ca), s.Token, namespace)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Holder is the Lease's spec.holderIdentity; ok false when there is no
// Lease.
func (s *Server) Holder(namespace, name string) (holder string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.leases[namespace+"/"+name]
	if !ok {
		return "", false
	}
	holder, _ = obj["spec"].(map[string]any)["holderIdentity"].(string)
	return holder, true
}

// Lease is a copy of the stored object (nil when there is none).
func (s *Server) Lease(namespace, name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.leases[namespace+"/"+name]
	if !ok {
		return nil
	}
	var cp map[string]any
	b, _ := json.Marshal(obj)
	_ = json.Unmarshal(b, &cp)
	return cp
}

// Change changes the stored Lease as another client's write would
// (a new resourceVersion); false when there is none.
func (s *Server) Change(namespace, name string, change func(obj map[string]any)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.leases[namespace+"/"+name]
	if !ok {
		return false
	}
	change(obj)
	s.rv++
	obj["metadata"].(map[string]any)["resourceVersion"] = strconv.FormatInt(s.rv, 10)
	return true
}

// Delete deletes the Lease as `kubectl delete lease` would; false when
// there was none.
func (s *Server) Delete(namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.leases[namespace+"/"+name]
	delete(s.leases, namespace+"/"+name)
	return ok
}

const prefix = "/apis/coordination.k8s.io/v1/namespaces/"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || len(parts) > 3 || parts[1] != "leases" || parts[0] == "" {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	ns, name := parts[0], ""
	if len(parts) == 3 {
		name = parts[2]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && name != "":
		obj, ok := s.leases[ns+"/"+name]
		if !ok {
			notFound(w, name)
			return
		}
		reply(w, http.StatusOK, obj)
	case r.Method == http.MethodPost && name == "":
		obj, ok := decode(w, r, ns)
		if !ok {
			return
		}
		name, _ = obj["metadata"].(map[string]any)["name"].(string)
		if name == "" {
			status(w, http.StatusUnprocessableEntity, "Invalid", "Lease.coordination.k8s.io \"\" is invalid: metadata.name: Required value: name or generateName is required")
			return
		}
		if _, ok := s.leases[ns+"/"+name]; ok {
			status(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("leases.coordination.k8s.io %q already exists", name))
			return
		}
		meta := obj["metadata"].(map[string]any)
		if rv, _ := meta["resourceVersion"].(string); rv != "" {
			status(w, http.StatusInternalServerError, "InternalError", "resourceVersion should not be set on objects to be created")
			return
		}
		s.create(w, ns, name, obj)
	case r.Method == http.MethodPut && name != "":
		obj, ok := decode(w, r, ns)
		if !ok {
			return
		}
		meta := obj["metadata"].(map[string]any)
		rv, _ := meta["resourceVersion"].(string)
		if rv == "" { // Leases take no unconditional update
			status(w, http.StatusUnprocessableEntity, "Invalid", fmt.Sprintf("leases.coordination.k8s.io %q is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update", name))
			return
		}
		cur, ok := s.leases[ns+"/"+name]
		if !ok {
			// Leases allow create on update: the object's uid, which an
			// object read from the server carries, is a precondition that
			// fails on a deleted Lease (409); without one the PUT creates it.
			if uid, _ := meta["uid"].(string); uid != "" {
				status(w, http.StatusConflict, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on leases.coordination.k8s.io %q: StorageError: invalid object, Code: 4, Key: /registry/leases/%s/%s, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: %s, UID in object meta: ", name, ns, name, uid))
				return
			}
			s.create(w, ns, name, obj)
			return
		}
		curMeta := cur["metadata"].(map[string]any)
		if rv != curMeta["resourceVersion"] {
			status(w, http.StatusConflict, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on leases.coordination.k8s.io %q: the object has been modified; please apply your changes to the latest version and try again", name))
			return
		}
		if !valid(w, name, obj) {
			return
		}
		meta["uid"], meta["creationTimestamp"] = curMeta["uid"], curMeta["creationTimestamp"]
		if sameObject(obj, cur) { // a write that changes nothing is no new version
			reply(w, http.StatusOK, cur)
			return
		}
		s.rv++
		meta["resourceVersion"] = strconv.FormatInt(s.rv, 10)
		s.leases[ns+"/"+name] = obj
		reply(w, http.StatusOK, obj)
	default:
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
	}
}

// create stores a new Lease (s.mu held).
func (s *Server) create(w http.ResponseWriter, ns, name string, obj map[string]any) {
	if !valid(w, name, obj) {
		return
	}
	s.rv++
	meta := obj["metadata"].(map[string]any)
	meta["resourceVersion"] = strconv.FormatInt(s.rv, 10)
	meta["uid"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", s.rv)
	meta["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	s.leases[ns+"/"+name] = obj
	reply(w, http.StatusCreated, obj)
}

// subdomain is a DNS-1123 subdomain, what an object's name must be.
var subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// valid checks what the real server's validation of a Lease checks of the
// fields the election writes: 422 Invalid, naming the first field.
func valid(w http.ResponseWriter, name string, obj map[string]any) bool {
	invalid := func(field, value, why string) bool {
		status(w, http.StatusUnprocessableEntity, "Invalid", fmt.Sprintf("Lease.coordination.k8s.io %q is invalid: %s: Invalid value: %s: %s", name, field, value, why))
		return false
	}
	if len(name) > 253 || !subdomain.MatchString(name) {
		return invalid("metadata.name", strconv.Quote(name), "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
	}
	spec := obj["spec"].(map[string]any)
	if n, ok := spec["leaseDurationSeconds"].(json.Number); ok {
		if v, err := n.Int64(); err != nil || v <= 0 {
			return invalid("spec.leaseDurationSeconds", n.String(), "must be greater than 0")
		}
	}
	if n, ok := spec["leaseTransitions"].(json.Number); ok {
		if v, err := n.Int64(); err != nil || v < 0 {
			return invalid("spec.leaseTransitions", n.String(), "must be greater than or equal to 0")
		}
	}
	return true
}

// sameObject reports whether an update leaves the stored object as it is
// (metadata the server keeps aside).
func sameObject(obj, cur map[string]any) bool {
	strip := func(o map[string]any) string {
		cp := map[string]any{}
		for k, v := range o {
			cp[k] = v
		}
		meta := map[string]any{}
		for k, v := range o["metadata"].(map[string]any) {
			meta[k] = v
		}
		delete(meta, "resourceVersion")
		delete(meta, "managedFields")
		cp["metadata"] = meta
		b, _ := json.Marshal(cp)
		return string(b)
	}
	return strip(obj) == strip(cur)
}

// decode reads a Lease from the request, checking what the real server
// checks before it stores one.
func decode(w http.ResponseWriter, r *http.Request, ns string) (map[string]any, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		status(w, http.StatusBadRequest, "BadRequest", "the object provided is unrecognized: "+err.Error())
		return nil, false
	}
	if obj["apiVersion"] != "coordination.k8s.io/v1" || obj["kind"] != "Lease" {
		status(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("the object provided is unrecognized (kind %v, apiVersion %v)", obj["kind"], obj["apiVersion"]))
		return nil, false
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	if got, _ := meta["namespace"].(string); got != "" && got != ns {
		status(w, http.StatusBadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
		return nil, false
	}
	meta["namespace"] = ns
	if _, ok := obj["spec"].(map[string]any); !ok {
		obj["spec"] = map[string]any{}
	}
	spec := obj["spec"].(map[string]any)
	for _, key := range []string{"acquireTime", "renewTime"} {
		if v, ok := spec[key].(string); ok {
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", v); err != nil {
				status(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("spec.%s: %v", key, err))
				return nil, false
			}
		}
	}
	return obj, true
}

func notFound(w http.ResponseWriter, name string) {
	status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("leases.coordination.k8s.io %q not found", name))
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// status answers as the API server does when it refuses: a metav1.Status.
func status(w http.ResponseWriter, code int, reason, message string) {
	reply(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}
