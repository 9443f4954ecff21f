//go:build kubeapiserver

package main

import (
	"testing"

	"github.com/jagad/jagad/engine/cluster/k8slease/k8sleasetest"
)

// TestRealAPIServer: the daemon in Lease mode against a real
// kube-apiserver (`make test-k8s`), connecting as a user with only the
// Role the pods' service account needs: it leads, and releases the Lease
// at shutdown.
func TestRealAPIServer(t *testing.T) {
	api := k8sleasetest.StartReal(t)
	testClusterLeaseModeLeads(t, api, api.Token)
}
