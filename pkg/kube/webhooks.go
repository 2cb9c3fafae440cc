package kube

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// neverMatch is the namespace selector of a webhook turned off without
// being deleted (so that switching back is an edit, not a reinstall). It is
// an expression, not a label as istioctl uses: an upgrade of the Helm release
// that rendered the webhook replaces the expressions list wholesale, so it
// turns the webhook back on, while a label it never rendered would stay.
var neverMatch = metav1.LabelSelectorRequirement{Key: "istio.io/deactivated", Operator: metav1.LabelSelectorOpIn, Values: []string{"never-match"}}

// DeactivateWebhooks makes every webhook of the mutating webhook
// configuration name match no namespace, as `istioctl tag set default` does
// with the injector of the control plane installed without a revision once a
// tag takes over its selectors. It reports whether it changed anything; an
// absent configuration is not an error.
func (c *Client) DeactivateWebhooks(ctx context.Context, name string) (bool, error) {
	cfg, err := c.mutatingWebhooks(ctx, name)
	if cfg == nil || err != nil || deactivated(cfg) {
		return false, err
	}
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{*neverMatch.DeepCopy()}}
	}
	if _, err := c.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return false, fmt.Errorf("deactivating mutating webhook configuration %s: %w", name, err)
	}
	return true, nil
}

// WebhooksDeactivated reports whether every webhook of the mutating webhook
// configuration name matches no namespace; false when it does not exist.
func (c *Client) WebhooksDeactivated(ctx context.Context, name string) (bool, error) {
	cfg, err := c.mutatingWebhooks(ctx, name)
	if cfg == nil || err != nil {
		return false, err
	}
	return deactivated(cfg), nil
}

// mutatingWebhooks reads a mutating webhook configuration; nil when absent.
func (c *Client) mutatingWebhooks(ctx context.Context, name string) (*admissionv1.MutatingWebhookConfiguration, error) {
	cfg, err := c.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading mutating webhook configuration %s: %w", name, err)
	}
	return cfg, nil
}

func deactivated(cfg *admissionv1.MutatingWebhookConfiguration) bool {
	for _, wh := range cfg.Webhooks {
		s := wh.NamespaceSelector
		if s == nil || len(s.MatchLabels) > 0 || len(s.MatchExpressions) != 1 || !equality.Semantic.DeepEqual(s.MatchExpressions[0], neverMatch) {
			return false
		}
	}
	return true
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
