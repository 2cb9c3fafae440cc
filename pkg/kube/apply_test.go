package kube_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/kube"
)

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

func configMap(ns, name string, data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"data":       data,
	}}
}

func TestApplyGetDeleteByGVK(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)

	got, err := client.Get(ctx, configMapGVK, ns, "mesh")
	if err != nil || got != nil {
		t.Fatalf("Get before Apply: %v, %v; want nil, nil", got, err)
	}
	if err := client.Apply(ctx, configMap(ns, "mesh", map[string]any{"a": "1", "b": "2"})); err != nil {
		t.Fatal(err)
	}
	// A second apply that drops a key removes it: ristio owns the fields it applied.
	if err := client.Apply(ctx, configMap(ns, "mesh", map[string]any{"a": "3"})); err != nil {
		t.Fatal(err)
	}
	got, err = client.Get(ctx, configMapGVK, ns, "mesh")
	if err != nil || got == nil {
		t.Fatalf("Get after Apply: %v, %v", got, err)
	}
	data, _, _ := unstructured.NestedStringMap(got.Object, "data")
	if len(data) != 1 || data["a"] != "3" {
		t.Errorf("data %v, want a=3 only", data)
	}
	managers := map[string]metav1.ManagedFieldsOperationType{}
	for _, mf := range got.GetManagedFields() {
		managers[mf.Manager] = mf.Operation
	}
	if managers[kube.FieldManager] != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %v: want %q applying", managers, kube.FieldManager)
	}

	// Force: fields another manager owns are taken over, not refused.
	cm, _ := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "mesh", metav1.GetOptions{})
	cm.Data["a"] = "theirs"
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if err := client.Apply(ctx, configMap(ns, "mesh", map[string]any{"a": "4"})); err != nil {
		t.Fatalf("Apply over another manager's field: %v", err)
	}

	if err := client.Delete(ctx, configMapGVK, ns, "mesh"); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Get(ctx, configMapGVK, ns, "mesh"); err != nil || got != nil {
		t.Fatalf("Get after Delete: %v, %v", got, err)
	}
	if err := client.Delete(ctx, configMapGVK, ns, "mesh"); err != nil {
		t.Fatalf("Delete of an absent object: %v", err)
	}
}

func TestApplyRefuses(t *testing.T) {
	_, client := cluster(t)
	ctx := timeout(t, time.Minute)
	tests := map[string]struct {
		obj  *unstructured.Unstructured
		want []string
	}{
		"a namespaced kind without a namespace": {
			obj:  configMap("", "x", nil),
			want: []string{"apply ConfigMap x", "namespaced but no namespace"},
		},
		"an object without a name": {
			obj:  configMap("default", "", nil),
			want: []string{"apply ConfigMap", "no name"},
		},
		"an object without a kind": {
			obj:  &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "x", "namespace": "ns"}}},
			want: []string{"apply ns/x", "no apiVersion or kind"},
		},
		"an invalid object names itself": {
			obj:  configMap("default", "Not_Valid", nil),
			want: []string{"apply ConfigMap default/Not_Valid", "Invalid"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			mustContain(t, client.Apply(ctx, tc.obj), tc.want...)
		})
	}
}

// A kind the cluster does not serve is simply absent for Get and Delete,
// as the Gateway kind is before Istio's CRDs are installed.
func TestUnservedKindIsAbsent(t *testing.T) {
	_, client := cluster(t)
	ctx := timeout(t, time.Minute)
	gw := schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}
	if got, err := client.Get(ctx, gw, "istio-system", "cross-network-gateway"); got != nil || err != nil {
		t.Fatalf("Get: %v, %v", got, err)
	}
	if err := client.Delete(ctx, gw, "istio-system", "cross-network-gateway"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

// Applying a kind the cluster never serves gives up when the context ends
// (or after a grace period), naming the object and the kind.
func TestApplyUnservedKindNamesIt(t *testing.T) {
	_, client := cluster(t)
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       "Gateway",
		"metadata":   map[string]any{"name": "cross-network-gateway", "namespace": "istio-system"},
	}}
	start := time.Now()
	err := client.Apply(timeout(t, 2*time.Second), gw)
	mustContain(t, err, "apply Gateway istio-system/cross-network-gateway", `no matches for kind "Gateway" in version "networking.istio.io/v1"`)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %s", d)
	}
}

// A CR applied right after its CRD: the client's cached discovery does not
// know the kind yet, so Apply must drop the cache and look again.
func TestApplyCustomResourceRightAfterItsCRD(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)
	widget := schema.GroupVersionKind{Group: "test.ristio.dev", Version: "v1", Kind: "Widget"}

	// Prime the discovery cache before the CRD exists.
	if got, err := client.Get(ctx, widget, ns, "w"); got != nil || err != nil {
		t.Fatalf("Get before the CRD: %v, %v", got, err)
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "widgets.test.ristio.dev"},
		"spec": map[string]any{
			"group": "test.ristio.dev",
			"scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type":                                 "object",
					"x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
	crdGVK := crd.GroupVersionKind()
	t.Cleanup(func() { _ = client.Delete(timeout(t, time.Minute), crdGVK, "", "widgets.test.ristio.dev") })
	if err := client.Apply(ctx, crd); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "test.ristio.dev/v1",
		"kind":       "Widget",
		"metadata":   map[string]any{"name": "w", "namespace": ns},
		"spec":       map[string]any{"size": int64(3)},
	}}
	if err := client.Apply(ctx, cr); err != nil {
		t.Fatalf("Apply right after the CRD: %v", err)
	}
	t.Logf("CR applied %s after its CRD", time.Since(start).Round(time.Millisecond))
	got, err := client.Get(ctx, widget, ns, "w")
	if err != nil || got == nil {
		t.Fatalf("Get: %v, %v", got, err)
	}
	if size, _, _ := unstructured.NestedInt64(got.Object, "spec", "size"); size != 3 {
		t.Errorf("spec.size %d", size)
	}
	if err := client.Delete(ctx, widget, ns, "w"); err != nil {
		t.Fatal(err)
	}
}

func TestAnnotateTouchesOnlyTheAnnotations(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)

	if err := client.Apply(ctx, configMap(ns, "marked", map[string]any{"a": "1"})); err != nil {
		t.Fatal(err)
	}
	before, err := client.Get(ctx, configMapGVK, ns, "marked")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Annotate(ctx, configMapGVK, ns, "marked", map[string]string{"ristio.io/mesh": "p/s/mesh"}); err != nil {
		t.Fatal(err)
	}
	after, err := client.Get(ctx, configMapGVK, ns, "marked")
	if err != nil {
		t.Fatal(err)
	}
	if after.GetAnnotations()["ristio.io/mesh"] != "p/s/mesh" || after.GetUID() != before.GetUID() {
		t.Errorf("after Annotate: annotations %v, uid %s (was %s)", after.GetAnnotations(), after.GetUID(), before.GetUID())
	}
	data, _, _ := unstructured.NestedStringMap(after.Object, "data")
	if len(data) != 1 || data["a"] != "1" {
		t.Errorf("Annotate changed data: %v", data)
	}
	if err := client.Annotate(ctx, configMapGVK, ns, "absent", map[string]string{"k": "v"}); err == nil {
		t.Error("Annotate of an object that does not exist succeeded")
	}
}
