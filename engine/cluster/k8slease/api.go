package k8slease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client reads and writes coordination.k8s.io/v1 Leases, all the election
// needs from the API server. HTTPClient is the real one.
type Client interface {
	Get(ctx context.Context, namespace, name string) (*Lease, error)
	// Create makes the Lease; an existing one is an error (IsAlreadyExists).
	Create(ctx context.Context, l *Lease) (*Lease, error)
	// Update replaces the Lease if its resourceVersion is still l's
	// (optimistic concurrency); else IsConflict.
	Update(ctx context.Context, l *Lease) (*Lease, error)
}

// Record is the election's part of a Lease's spec: what client-go's
// leader election keeps there too, so either can read the other's Lease.
type Record struct {
	Holder               string
	LeaseDurationSeconds int32
	AcquireTime          time.Time
	RenewTime            time.Time
	Transitions          int32
}

// same reports whether two records are equal (a Lease that changed).
func (r Record) same(o Record) bool {
	return r.Holder == o.Holder && r.LeaseDurationSeconds == o.LeaseDurationSeconds &&
		r.AcquireTime.Equal(o.AcquireTime) && r.RenewTime.Equal(o.RenewTime) && r.Transitions == o.Transitions
}

// Lease is one Lease object.
type Lease struct {
	Namespace       string
	Name            string
	ResourceVersion string // the server's; empty on create
	Record
	// obj is the object as the server sent it. An update sends it back
	// with the election's fields changed, so the fields this package does
	// not know (labels, annotations, spec.strategy …) survive it.
	obj map[string]any
}

// microTime is the wire format of a Lease's times (metav1.MicroTime).
const microTime = "2006-01-02T15:04:05.000000Z07:00"

// encode is l as the JSON object to send.
func (l *Lease) encode() ([]byte, error) {
	obj := map[string]any{}
	for k, v := range l.obj {
		obj[k] = v
	}
	obj["apiVersion"] = "coordination.k8s.io/v1"
	obj["kind"] = "Lease"
	meta := submap(obj, "metadata")
	meta["namespace"], meta["name"] = l.Namespace, l.Name
	if l.ResourceVersion != "" {
		meta["resourceVersion"] = l.ResourceVersion
	} else {
		delete(meta, "resourceVersion")
	}
	spec := submap(obj, "spec")
	spec["holderIdentity"] = l.Holder
	spec["leaseDurationSeconds"] = l.LeaseDurationSeconds
	spec["leaseTransitions"] = l.Transitions
	for key, t := range map[string]time.Time{"acquireTime": l.AcquireTime, "renewTime": l.RenewTime} {
		if t.IsZero() {
			delete(spec, key)
		} else {
			spec[key] = t.UTC().Format(microTime)
		}
	}
	return json.Marshal(obj)
}

// submap is obj[key] as a fresh copy of the object there (created if
// missing), so that changing it leaves the Lease it came from alone.
func submap(obj map[string]any, key string) map[string]any {
	m := map[string]any{}
	if old, ok := obj[key].(map[string]any); ok {
		for k, v := range old {
			m[k] = v
		}
	}
	obj[key] = m
	return m
}

// decodeLease reads a Lease object from the server.
func decodeLease(body []byte) (*Lease, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers we do not know stay as they were
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("decode Lease: %w", err)
	}
	if kind, _ := obj["kind"].(string); kind != "Lease" {
		return nil, fmt.Errorf("decode Lease: the server sent kind %q", kind)
	}
	l := &Lease{obj: obj}
	meta, _ := obj["metadata"].(map[string]any)
	l.Namespace, _ = meta["namespace"].(string)
	l.Name, _ = meta["name"].(string)
	l.ResourceVersion, _ = meta["resourceVersion"].(string)
	spec, _ := obj["spec"].(map[string]any)
	l.Holder, _ = spec["holderIdentity"].(string)
	var err error
	if l.LeaseDurationSeconds, err = int32Field(spec, "leaseDurationSeconds"); err != nil {
		return nil, err
	}
	if l.Transitions, err = int32Field(spec, "leaseTransitions"); err != nil {
		return nil, err
	}
	for key, dst := range map[string]*time.Time{"acquireTime": &l.AcquireTime, "renewTime": &l.RenewTime} {
		s, _ := spec[key].(string)
		if s == "" {
			continue
		}
		if *dst, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, fmt.Errorf("decode Lease: spec.%s: %w", key, err)
		}
	}
	return l, nil
}

func int32Field(spec map[string]any, key string) (int32, error) {
	n, ok := spec[key].(json.Number)
	if !ok {
		return 0, nil
	}
	v, err := n.Int64()
	if err != nil || v < -1<<31 || v >= 1<<31 {
		return 0, fmt.Errorf("decode Lease: spec.%s %q is not a 32-bit integer", key, n)
	}
	return int32(v), nil
}

// StatusError is the API server's refusal (a metav1.Status).
type StatusError struct {
	Code    int
	Reason  string // NotFound, AlreadyExists, Conflict, Forbidden …
	Message string
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("kubernetes API: %s (%d %s)", msg, e.Code, e.Reason)
}

func isStatus(err error, code int, reason string) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code && (reason == "" || se.Reason == reason)
}

// IsNotFound: no such Lease.
func IsNotFound(err error) bool { return isStatus(err, http.StatusNotFound, "") }

// IsConflict: the Lease changed since it was read.
func IsConflict(err error) bool { return isStatus(err, http.StatusConflict, "Conflict") }

// IsAlreadyExists: a create found the Lease there.
func IsAlreadyExists(err error) bool { return isStatus(err, http.StatusConflict, "AlreadyExists") }

// HTTPClient talks to the API server over HTTPS (see NewClient).
type HTTPClient struct {
	server  *url.URL
	hc      *http.Client
	token   *tokenSource // nil: no bearer token (client certificates)
	timeout time.Duration
}

// userAgent names Jagad's requests in the API server's audit log.
const userAgent = "jagad-leader-election"

// maxBody bounds what is read of an answer: a Lease is well under 1 KiB
// (a few KiB with managed fields).
const maxBody = 1 << 20

func (c *HTTPClient) leasePath(namespace, name string) string {
	p := "/apis/coordination.k8s.io/v1/namespaces/" + url.PathEscape(namespace) + "/leases"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// Get reads a Lease.
func (c *HTTPClient) Get(ctx context.Context, namespace, name string) (*Lease, error) {
	return c.do(ctx, http.MethodGet, c.leasePath(namespace, name), nil)
}

// Create makes a Lease.
func (c *HTTPClient) Create(ctx context.Context, l *Lease) (*Lease, error) {
	return c.send(ctx, http.MethodPost, c.leasePath(l.Namespace, ""), l)
}

// Update replaces a Lease at its resourceVersion.
func (c *HTTPClient) Update(ctx context.Context, l *Lease) (*Lease, error) {
	if l.ResourceVersion == "" {
		return nil, errors.New("update Lease: no resourceVersion")
	}
	return c.send(ctx, http.MethodPut, c.leasePath(l.Namespace, l.Name), l)
}

func (c *HTTPClient) send(ctx context.Context, method, path string, l *Lease) (*Lease, error) {
	body, err := l.encode()
	if err != nil {
		return nil, fmt.Errorf("encode Lease: %w", err)
	}
	return c.do(ctx, method, path, body)
}

// do sends one request and reads a Lease or the server's Status.
func (c *HTTPClient) do(ctx context.Context, method, path string, body []byte) (*Lease, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.server.JoinPath(path)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != nil {
		tok, err := c.token.get()
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, statusError(resp, data)
	}
	l, err := decodeLease(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return l, nil
}

// statusError reads the Status the server answers a refusal with.
func statusError(resp *http.Response, data []byte) error {
	se := &StatusError{Code: resp.StatusCode}
	var st struct {
		Kind    string `json:"kind"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &st) == nil && st.Kind == "Status" {
		se.Reason, se.Message = st.Reason, st.Message
	} else if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/") {
		se.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	if se.Reason == "" {
		se.Reason = http.StatusText(resp.StatusCode)
	}
	return se
}
