//go:build kubeapiserver

package k8slease

// TestRealAPIServer runs the election scenarios against a real
// kube-apiserver (k8sleasetest.StartReal) instead of the fake: `make
// test-k8s` builds one from the version pinned in .ci/tools/kubeapi and
// runs this. The candidates connect as a user with only the Role the
// pods' service account needs (get, create, update on Leases in their
// namespace). The scenarios include testAPIAnswers: the fake answers as
// this server does.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

var _ apiServer = (*k8sleasetest.Real)(nil)

func TestRealAPIServer(t *testing.T) {
	if k8sleasetest.RealNamespace != testNS {
		t.Fatalf("the real server's namespace %q is not the scenarios' %q", k8sleasetest.RealNamespace, testNS)
	}
	api := k8sleasetest.StartReal(t)
	for _, sc := range scenarios {
		api.Delete(testNS, testLease)
		t.Run(sc.name, func(t *testing.T) { sc.run(t, api) })
	}
	api.Delete(testNS, testLease)
	t.Run("RBACSufficientAndTight", func(t *testing.T) { testRealRBAC(t, api) })
}

// testRealRBAC: with the Role's verbs the candidate reads, creates and
// renews its Lease (the scenarios need nothing else); a Lease in another
// namespace is refused with 403 Forbidden, which the election reports in
// Ready and does not take for a missing Lease.
func testRealRBAC(t *testing.T, api *k8sleasetest.Real) {
	ctx := context.Background()
	cli := newClient(t, api)
	now := time.Now()
	l, err := cli.Create(ctx, &Lease{Namespace: testNS, Name: "rbac-check",
		Record: Record{Holder: "jagad-0", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now}})
	if err != nil {
		t.Fatalf("create in %s: %v", testNS, err)
	}
	defer api.Delete(testNS, "rbac-check")
	if l, err = cli.Get(ctx, testNS, "rbac-check"); err != nil {
		t.Fatalf("get in %s: %v", testNS, err)
	}
	l.RenewTime = time.Now()
	if _, err := cli.Update(ctx, l); err != nil {
		t.Fatalf("update in %s: %v", testNS, err)
	}

	const other = "kube-system"
	forbidden := func(what string, err error) {
		t.Helper()
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusForbidden || se.Reason != "Forbidden" {
			t.Errorf("%s in %s: %v (%T), want a *StatusError 403 Forbidden", what, other, err, err)
			return
		}
		if IsNotFound(err) || IsConflict(err) || IsAlreadyExists(err) {
			t.Errorf("%s in %s: 403 taken for another status: %v", what, other, err)
		}
		if !strings.Contains(se.Message, `User "`+k8sleasetest.RealUser+`"`) {
			t.Errorf("%s in %s: message %q", what, other, se.Message)
		}
	}
	_, err = cli.Get(ctx, other, testLease)
	forbidden("get", err)
	_, err = cli.Create(ctx, &Lease{Namespace: other, Name: testLease,
		Record: Record{Holder: "jagad-0", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now}})
	forbidden("create", err)
	_, err = cli.Update(ctx, &Lease{Namespace: other, Name: testLease, ResourceVersion: "1",
		Record: Record{Holder: "jagad-0", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now}})
	forbidden("update", err)

	// A candidate pointed at a namespace it may not use never leads and
	// is not ready, with the server's reason.
	e, err := Start(Options{Client: cli, Namespace: other, Name: testLease, ID: "jagad-0",
		LeaseDuration: testDuration, RenewDeadline: testDeadline, RetryPeriod: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	waitFor(t, "an answer from the API server", func() bool { return e.lastErr() != nil })
	if err := e.Ready(); err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("Ready = %v, want the server's 403", err)
	}
	if e.Leading() {
		t.Error("leading in a namespace it may not use")
	}
	if _, ok := api.Holder(other, testLease); ok {
		t.Errorf("a Lease appeared in %s", other)
	}
}
