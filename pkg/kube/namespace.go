package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// EnsureNamespace creates the namespace, labelled with labels and the
// managed-by label, or sets labels on the namespace that exists. It applies
// the labels server-side, so a label it set before and no longer passes is
// removed, while labels set by others stay. A namespace that existed before
// ristio does not gain the managed-by label. A namespace being deleted is an
// error.
func (c *Client) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	nss := c.kube.CoreV1().Namespaces()
	want := make(map[string]string, len(labels)+1)
	existing, err := nss.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		want[naming.ManagedByLabel] = naming.ManagedByValue
	case err != nil:
		return fmt.Errorf("get namespace %s: %w", name, err)
	case existing.DeletionTimestamp != nil || existing.Status.Phase == corev1.NamespaceTerminating:
		return fmt.Errorf("namespace %s is being deleted; try again once it is gone", name)
	case existing.Labels[naming.ManagedByLabel] == naming.ManagedByValue:
		// Keep the label this manager set at creation.
		want[naming.ManagedByLabel] = naming.ManagedByValue
	}
	for k, v := range labels {
		want[k] = v
	}
	ac := corev1ac.Namespace(name).WithLabels(want)
	if _, err := nss.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply namespace %s: %w", name, err)
	}
	return nil
}

// DeleteNamespace deletes the namespace and waits until it is gone. A
// namespace that does not exist is not an error; one already being deleted
// is waited for.
func (c *Client) DeleteNamespace(ctx context.Context, name string, progress Progress) error {
	nss := c.kube.CoreV1().Namespaces()
	background := metav1.DeletePropagationBackground
	err := nss.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err): // already terminating
	case err != nil:
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return poll(ctx, "deletion of namespace "+name, progress, func(ctx context.Context) (bool, string, error) {
		ns, err := nss.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, namespaceState(ns), nil
	})
}

// namespaceState says what holds a terminating namespace up, from the
// conditions the namespace controller sets.
func namespaceState(ns *corev1.Namespace) string {
	var reasons []string
	for _, cond := range ns.Status.Conditions {
		if cond.Status == corev1.ConditionTrue {
			reasons = append(reasons, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
		}
	}
	sort.Strings(reasons)
	state := "phase " + string(ns.Status.Phase)
	if len(ns.Spec.Finalizers) > 0 {
		fs := make([]string, len(ns.Spec.Finalizers))
		for i, f := range ns.Spec.Finalizers {
			fs[i] = string(f)
		}
		state += ", finalizers " + strings.Join(fs, ",")
	}
	if len(reasons) > 0 {
		state += "; " + strings.Join(reasons, "; ")
	}
	return state
}

// ForeignWorkloads names the Deployments, StatefulSets, DaemonSets and
// Services in ns that neither ristio nor Helm manages: things a person or
// another tool put there, which deleting the namespace would take with it.
func (c *Client) ForeignWorkloads(ctx context.Context, ns string) ([]string, error) {
	managed := func(labels map[string]string) bool {
		by := labels[naming.ManagedByLabel]
		return by == naming.ManagedByValue || by == "Helm"
	}
	var out []string
	opts := metav1.ListOptions{}
	deps, err := c.kube.AppsV1().Deployments(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list deployments in %s: %w", ns, err)
	}
	for _, o := range deps.Items {
		if !managed(o.Labels) {
			out = append(out, "Deployment "+o.Name)
		}
	}
	sets, err := c.kube.AppsV1().StatefulSets(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list statefulsets in %s: %w", ns, err)
	}
	for _, o := range sets.Items {
		if !managed(o.Labels) {
			out = append(out, "StatefulSet "+o.Name)
		}
	}
	daemons, err := c.kube.AppsV1().DaemonSets(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list daemonsets in %s: %w", ns, err)
	}
	for _, o := range daemons.Items {
		if !managed(o.Labels) {
			out = append(out, "DaemonSet "+o.Name)
		}
	}
	svcs, err := c.kube.CoreV1().Services(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list services in %s: %w", ns, err)
	}
	for _, o := range svcs.Items {
		if !managed(o.Labels) {
			out = append(out, "Service "+o.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
