package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// GetSecret returns the secret, or nil when it does not exist.
func (c *Client) GetSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	s, err := c.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", ref(ns, name), err)
	}
	return s, nil
}

// ApplySecret creates or updates the secret by server-side apply, as field
// manager "ristio": its labels, annotations, type, data and stringData.
// Data keys ristio applied before and no longer passes are removed; keys
// others wrote stay.
func (c *Client) ApplySecret(ctx context.Context, s *corev1.Secret) error {
	if s.Name == "" || s.Namespace == "" {
		return fmt.Errorf("apply secret %s: name and namespace are required", ref(s.Namespace, s.Name))
	}
	ac := corev1ac.Secret(s.Name, s.Namespace)
	if len(s.Labels) > 0 {
		ac.WithLabels(s.Labels)
	}
	if len(s.Annotations) > 0 {
		ac.WithAnnotations(s.Annotations)
	}
	if s.Type != "" {
		ac.WithType(s.Type)
	}
	if len(s.Data) > 0 {
		ac.WithData(s.Data)
	}
	if len(s.StringData) > 0 {
		ac.WithStringData(s.StringData)
	}
	if s.Immutable != nil {
		ac.WithImmutable(*s.Immutable)
	}
	_, err := c.kube.CoreV1().Secrets(s.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("apply secret %s: %w", ref(s.Namespace, s.Name), err)
	}
	return nil
}

// DeleteSecret deletes the secret; one that does not exist is not an error.
func (c *Client) DeleteSecret(ctx context.Context, ns, name string) error {
	err := c.kube.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete secret %s: %w", ref(ns, name), err)
	}
	return nil
}

// SecretNames lists the names of the secrets in ns that match the label
// selector; a namespace that does not exist holds none.
func (c *Client) SecretNames(ctx context.Context, ns, selector string) ([]string, error) {
	list, err := c.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list secrets in %s matching %q: %w", ns, selector, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	return names, nil
}
