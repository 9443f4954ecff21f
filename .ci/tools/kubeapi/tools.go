//go:build tools

// Package tools pins the real kube-apiserver that the Kubernetes Lease tests run.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
