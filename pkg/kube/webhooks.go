package kube

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// neverMatch is the selector istioctl gives a webhook it turns off without
// deleting it (so that switching back is an edit, not a reinstall).
var neverMatch = &metav1.LabelSelector{MatchLabels: map[string]string{"istio.io/deactivated": "never-match"}}

// DeactivateWebhooks makes every webhook of the mutating webhook
// configuration name match nothing, as `istioctl tag set default` does with
// the injector of the control plane installed without a revision once a tag
// takes over its selectors. It reports whether it changed anything; an
// absent configuration is not an error.
func (c *Client) DeactivateWebhooks(ctx context.Context, name string) (bool, error) {
	api := c.kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cfg, err := api.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading mutating webhook configuration %s: %w", name, err)
	}
	if deactivated(cfg) {
		return false, nil
	}
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].NamespaceSelector = neverMatch.DeepCopy()
		cfg.Webhooks[i].ObjectSelector = neverMatch.DeepCopy()
	}
	if _, err := api.Update(ctx, cfg, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return false, fmt.Errorf("deactivating mutating webhook configuration %s: %w", name, err)
	}
	return true, nil
}

// WebhooksDeactivated reports whether every webhook of the mutating webhook
// configuration name matches nothing; false when it does not exist.
func (c *Client) WebhooksDeactivated(ctx context.Context, name string) (bool, error) {
	cfg, err := c.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading mutating webhook configuration %s: %w", name, err)
	}
	return deactivated(cfg), nil
}

func deactivated(cfg *admissionv1.MutatingWebhookConfiguration) bool {
	for _, wh := range cfg.Webhooks {
		if !selectsNothing(wh.NamespaceSelector) || !selectsNothing(wh.ObjectSelector) {
			return false
		}
	}
	return true
}

func selectsNothing(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchExpressions) == 0 && len(s.MatchLabels) == 1 &&
		s.MatchLabels["istio.io/deactivated"] == "never-match"
}

// DeploymentNames lists the Deployments in ns that match selector, leaving
// out those being deleted.
func (c *Client) DeploymentNames(ctx context.Context, ns, selector string) ([]string, error) {
	list, err := c.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing deployments in %s (%s): %w", ns, selector, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, d := range list.Items {
		if d.DeletionTimestamp != nil {
			continue
		}
		names = append(names, d.Name)
	}
	return names, nil
}
