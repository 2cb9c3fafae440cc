package kube

import (
	"context"
	"encoding/json"
	"errors"
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
// manager "ristio", with every field s sets: labels, annotations, owner
// references, finalizers, type, data, stringData, immutable (and
// resourceVersion, which makes the apply conditional). Data keys ristio
// applied before and no longer passes are removed; keys others wrote stay.
// Metadata only the API server sets (uid, generation, timestamps, managed
// fields) is refused: s must be written to be applied, not read back.
func (c *Client) ApplySecret(ctx context.Context, s *corev1.Secret) error {
	if s.Name == "" || s.Namespace == "" {
		return fmt.Errorf("apply secret %s: name and namespace are required", ref(s.Namespace, s.Name))
	}
	ac, err := secretApplyConfiguration(s)
	if err != nil {
		return fmt.Errorf("apply secret %s: %w", ref(s.Namespace, s.Name), err)
	}
	_, err = c.kube.CoreV1().Secrets(s.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("apply secret %s: %w", ref(s.Namespace, s.Name), err)
	}
	return nil
}

// secretApplyConfiguration converts s through JSON, whose shape the two
// types share, so that no field is left out: copying fields one by one
// silently dropped those it did not name.
func secretApplyConfiguration(s *corev1.Secret) (*corev1ac.SecretApplyConfiguration, error) {
	if field := serverSetField(&s.ObjectMeta); field != "" {
		return nil, fmt.Errorf("metadata.%s is set by the API server and cannot be applied", field)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		// The error could quote secret data.
		return nil, errors.New("the secret does not serialize")
	}
	ac := &corev1ac.SecretApplyConfiguration{}
	if err := json.Unmarshal(raw, ac); err != nil {
		return nil, errors.New("the secret does not convert to an apply configuration")
	}
	return ac.WithAPIVersion("v1").WithKind("Secret"), nil
}

// serverSetField names the first metadata field s sets that only the API
// server writes, or returns "".
func serverSetField(m *metav1.ObjectMeta) string {
	switch {
	case m.UID != "":
		return "uid"
	case m.Generation != 0:
		return "generation"
	case !m.CreationTimestamp.IsZero():
		return "creationTimestamp"
	case m.DeletionTimestamp != nil:
		return "deletionTimestamp"
	case m.DeletionGracePeriodSeconds != nil:
		return "deletionGracePeriodSeconds"
	case len(m.ManagedFields) > 0:
		return "managedFields"
	}
	return ""
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
