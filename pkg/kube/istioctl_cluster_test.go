package kube_test

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

func TestDeleteIstioctlLeftovers(t *testing.T) {
	c, client := cluster(t)
	ctx := timeout(t, time.Minute)
	ns := namespace(t, c)
	accounts := c.Client.CoreV1().ServiceAccounts(ns)
	istioctl := map[string]string{naming.IstioctlOwnerLabel: "eastwest", "app": "gw"}
	for _, sa := range []corev1.ServiceAccount{
		// istioctl made it and nothing took it over: a leftover.
		{ObjectMeta: metav1.ObjectMeta{Name: "left", Labels: istioctl}},
		// istioctl made it, and a Helm release has since taken it over.
		{ObjectMeta: metav1.ObjectMeta{Name: "released", Labels: istioctl, Annotations: map[string]string{naming.HelmReleaseAnnotation: "istio-eastwestgateway"}}},
		// Not istioctl's.
		{ObjectMeta: metav1.ObjectMeta{Name: "yours", Labels: map[string]string{"app": "gw"}}},
		// istioctl's, but not selected.
		{ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{naming.IstioctlOwnerLabel: "eastwest", "app": "other"}}},
	} {
		if _, err := accounts.Create(ctx, &sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	gvks := []schema.GroupVersionKind{
		{Version: "v1", Kind: "ServiceAccount"},
		{Group: "example.io", Version: "v1", Kind: "NotServed"}, // a kind the cluster lacks is skipped
	}
	deleted, err := client.DeleteIstioctlLeftovers(ctx, ns, "app=gw", gvks...)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ServiceAccount " + ns + "/left"}; !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	for name, kept := range map[string]bool{"left": false, "released": true, "yours": true, "other": true} {
		_, err := accounts.Get(ctx, name, metav1.GetOptions{})
		if kept && err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
		if !kept && !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v, want it deleted", name, err)
		}
	}
}
