package kube_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestCountObjects counts a custom kind's objects across namespaces: none
// while the kind is not served, then every object of it.
func TestCountObjects(t *testing.T) {
	c, client := cluster(t)
	ctx := timeout(t, time.Minute)
	gvk := schema.GroupVersionKind{Group: "count.test.ristio.io", Version: "v1", Kind: "Widget"}
	if n, err := client.CountObjects(ctx, gvk); n != 0 || err != nil {
		t.Fatalf("CountObjects(unserved kind) = %d, %v; want 0, nil", n, err)
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.count.test.ristio.io"},
		"spec": map[string]any{
			"group": gvk.Group, "scope": "Namespaced",
			"names": map[string]any{"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if err := client.Apply(ctx, crd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Delete(context.Background(), crd.GroupVersionKind(), "", crd.GetName()) })
	for i, ns := range []string{namespace(t, c), namespace(t, c), namespace(t, c)} {
		w := &unstructured.Unstructured{}
		w.SetGroupVersionKind(gvk)
		w.SetNamespace(ns)
		w.SetName("w")
		if err := client.Apply(ctx, w); err != nil { // waits for the new kind
			t.Fatalf("widget %d: %v", i, err)
		}
	}
	if n, err := client.CountObjects(ctx, gvk); n != 3 || err != nil {
		t.Errorf("CountObjects() = %d, %v; want 3 across namespaces", n, err)
	}
}
