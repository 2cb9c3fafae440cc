package kube

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Apply creates or updates obj by server-side apply, as field manager
// "ristio", taking over fields other managers own. A kind whose CRD was
// created a moment ago is waited for briefly.
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	ns, name := obj.GetNamespace(), obj.GetName()
	if gvk.Kind == "" || gvk.Version == "" {
		return fmt.Errorf("apply %s: object has no apiVersion or kind", ref(ns, name))
	}
	if name == "" {
		return fmt.Errorf("apply %s: object has no name", gvk.Kind)
	}
	ri, err := c.resource(ctx, gvk, ns, true)
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	if _, err := ri.Apply(ctx, name, obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	return nil
}

// Get returns the object, or nil when it does not exist, including when
// the cluster does not serve its kind. ns is ignored for cluster-scoped kinds.
func (c *Client) Get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	ri, err := c.resource(ctx, gvk, ns, false)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	obj, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	return obj, nil
}

// Delete deletes the object, with its dependents in the background. An
// object (or kind) that does not exist is not an error. It does not wait.
func (c *Client) Delete(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) error {
	ri, err := c.resource(ctx, gvk, ns, false)
	if meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	background := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	return nil
}

// Annotate sets annotations on an existing object by a JSON merge patch,
// touching nothing else: no field manager takes over its other fields. An
// object that does not exist is an error.
func (c *Client) Annotate(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, annotations map[string]string) error {
	ri, err := c.resource(ctx, gvk, ns, false)
	if err != nil {
		return fmt.Errorf("annotate %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return fmt.Errorf("annotate %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	if _, err := ri.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("annotate %s %s: %w", gvk.Kind, ref(ns, name), err)
	}
	return nil
}
