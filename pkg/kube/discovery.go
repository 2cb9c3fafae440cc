package kube

import (
	"context"
	"fmt"
	"slices"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ServedServices lists, sorted, the Services in ns whose EndpointSlices
// match selector (a slice carries its Service's labels) and hold at least
// one endpoint not known to be unready: what an istiod watching this
// cluster must have discovered.
func (c *Client) ServedServices(ctx context.Context, ns, selector string) ([]string, error) {
	list, err := c.kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing endpoint slices %s in %s: %w", selector, ns, err)
	}
	var out []string
	for _, s := range list.Items {
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" || slices.Contains(out, svc) {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				out = append(out, svc)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// RestartedAtAnnotation is what `kubectl rollout restart` sets on a pod
// template to roll a Deployment's pods without changing anything else.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// RestartDeployments rolls the pods of every Deployment in ns matching
// selector, as `kubectl rollout restart` does, and returns their names. It
// does not wait: see WaitForDeployment.
func (c *Client) RestartDeployments(ctx context.Context, ns, selector string, at time.Time) ([]string, error) {
	names, err := c.DeploymentNames(ctx, ns, selector)
	if err != nil {
		return nil, err
	}
	patch := fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, at.UTC().Format(time.RFC3339Nano))
	for _, name := range names {
		if _, err := c.kube.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
			return nil, fmt.Errorf("restarting deployment %s: %w", ref(ns, name), err)
		}
	}
	return names, nil
}
