// Package promrule turns examples/prometheus/alerts.yml (a Prometheus rule
// file) into the Prometheus Operator's PrometheusRule in
// examples/kubernetes/prometheusrule.yaml, so the two never drift: the file
// is generated (go generate in examples/) and examples/kubernetes_test.go
// fails when it is out of date.
package promrule

import (
	"bytes"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Header starts the generated file.
const Header = `# Code generated from examples/prometheus/alerts.yml by examples/internal/promrule; DO NOT EDIT.
# Regenerate with: cd examples && go generate ./...
`

// Render decodes a Prometheus rule file strictly (an unknown key is an
// error) and returns the PrometheusRule manifest holding the same groups.
func Render(alerts []byte) ([]byte, error) {
	var spec monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(alerts, &spec); err != nil {
		return nil, fmt.Errorf("decode rule file: %w", err)
	}
	if len(spec.Groups) == 0 {
		return nil, fmt.Errorf("rule file has no groups")
	}
	rule := monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{APIVersion: "monitoring.coreos.com/v1", Kind: monitoringv1.PrometheusRuleKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:   "jagad",
			Labels: map[string]string{"app.kubernetes.io/name": "jagad"},
		},
		Spec: spec,
	}
	out, err := yaml.Marshal(rule)
	if err != nil {
		return nil, fmt.Errorf("encode PrometheusRule: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(Header)
	b.Write(out)
	return b.Bytes(), nil
}
