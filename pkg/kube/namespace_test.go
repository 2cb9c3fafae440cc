package kube_test

import (
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

func TestEnsureNamespace(t *testing.T) {
	c, client := cluster(t)
	ctx := timeout(t, time.Minute)
	name := "ensure-ns-test"
	t.Cleanup(func() { _ = client.DeleteNamespace(timeout(t, time.Minute), name, nil) })

	labels := func() map[string]string {
		ns, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		delete(ns.Labels, corev1.LabelMetadataName) // set by the API server
		return ns.Labels
	}

	if err := client.EnsureNamespace(ctx, name, map[string]string{naming.NetworkLabel: "network-a", "extra": "1"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{naming.NetworkLabel: "network-a", "extra": "1", naming.ManagedByLabel: naming.ManagedByValue}
	if got := labels(); !maps.Equal(got, want) {
		t.Fatalf("after create: %v, want %v", got, want)
	}

	// Someone else labels it too; that label must survive.
	ns, _ := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	ns.Labels["team"] = "mesh"
	if _, err := c.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := client.EnsureNamespace(ctx, name, map[string]string{naming.NetworkLabel: "network-b"}); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{naming.NetworkLabel: "network-b", "team": "mesh", naming.ManagedByLabel: naming.ManagedByValue}
	if got := labels(); !maps.Equal(got, want) {
		t.Fatalf("after relabel: %v, want %v", got, want)
	}

	// Deleting it waits until it is gone; deleting it again is fine.
	start := time.Now()
	rec := &recorder{}
	if err := client.DeleteNamespace(ctx, name, rec.progress); err != nil {
		t.Fatal(err)
	}
	t.Logf("namespace deleted in %s; progress %q", time.Since(start).Round(time.Millisecond), rec.all())
	if _, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace still there: %v", err)
	}
	if err := client.DeleteNamespace(ctx, name, nil); err != nil {
		t.Fatalf("DeleteNamespace of an absent namespace: %v", err)
	}
}

// A namespace ristio did not create does not become ristio's.
func TestEnsureNamespaceThatExisted(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)
	if err := client.EnsureNamespace(ctx, ns, map[string]string{naming.NetworkLabel: "network-a"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels[naming.NetworkLabel] != "network-a" {
		t.Errorf("labels %v", got.Labels)
	}
	if _, ok := got.Labels[naming.ManagedByLabel]; ok {
		t.Errorf("pre-existing namespace gained %s", naming.ManagedByLabel)
	}
}
