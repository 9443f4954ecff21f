package k8slease

import (
	"fmt"
	"time"

	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// NewClient connects to the API server for Leases: with the pod's service
// account (rest.InClusterConfig) when kubeconfig is empty, else with the
// kubeconfig file's current context. timeout bounds one request; keep it
// below the renew deadline so one hung request cannot cost the leadership
// (client-go's advice: half of it).
func NewClient(kubeconfig string, timeout time.Duration) (coordinationv1client.CoordinationV1Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes in-cluster config (not in a pod? set kubeconfig): %w", err)
		}
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = timeout
	cfg = rest.AddUserAgent(cfg, "jagad-leader-election")
	cli, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cli, nil
}
