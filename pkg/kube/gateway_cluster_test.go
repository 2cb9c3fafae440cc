package kube_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestWaitForGatewayAddress: the wait for an east-west Gateway ends only
// when it is Programmed with its own Service's address and its Deployment
// was rendered by the revision the Gateway names: a Gateway just moved to
// a canary revision is still Programmed while the old istiod's Deployment
// runs. istiod's part (status, Deployment) is written by hand here;
// test/e2e's TestAmbientCanaryUpgrade has the real one.
func TestWaitForGatewayAddress(t *testing.T) {
	c, client := cluster(t)
	ctx := timeout(t, 2*time.Minute)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	t.Cleanup(func() {
		for _, crd := range gatewayapi.CRDs() {
			_ = dyn.Resource(crds).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
		}
	})
	for _, crd := range gatewayapi.CRDs() {
		if err := client.Apply(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
	ns := namespace(t, c)
	gateways := dyn.Resource(gatewayapi.GatewayGVR).Namespace(ns)
	gw := gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: "network1", Revision: "canary"})
	gw.SetNamespace(ns)
	name := gw.GetName()
	// The CRDs are served a moment after they are created.
	for {
		if _, err = gateways.Create(ctx, gw, metav1.CreateOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("create Gateway: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	createService(t, c, ns, name, corev1.ServiceTypeLoadBalancer)
	if err := c.SetServiceAddress(ctx, ns, name, "127.0.1.7"); err != nil {
		t.Fatal(err)
	}
	live, err := gateways.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedSlice(live.Object, []any{map[string]any{
		"type": "Programmed", "status": "True", "reason": "Programmed", "message": "ok",
		"observedGeneration": live.GetGeneration(), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	}}, "status", "conditions")
	_ = unstructured.SetNestedSlice(live.Object, []any{map[string]any{"type": "IPAddress", "value": "127.0.1.7"}}, "status", "addresses")
	if _, err := gateways.UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	short := func() context.Context { return timeout(t, 2*time.Second) }
	_, err = client.WaitForGatewayAddress(short(), ns, name, nil)
	mustContain(t, err, "timed out after", "Programmed, but istiod has made no Deployment "+ns+"/"+name)

	createDeployment(t, c, ns, name)
	setTemplateRevision := func(rev string) {
		t.Helper()
		patch := `{"spec":{"template":{"metadata":{"labels":{"` + naming.RevisionLabel + `":"` + rev + `"}}}}}`
		if _, err := c.Client.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setTemplateRevision(naming.DefaultRevision)
	_, err = client.WaitForGatewayAddress(short(), ns, name, nil)
	mustContain(t, err, `its Deployment rendered by revision "default", waiting for revision "canary" to take it over`)

	setTemplateRevision("canary")
	if addr, err := client.WaitForGatewayAddress(ctx, ns, name, nil); err != nil || addr != "127.0.1.7" {
		t.Fatalf("the canary's Deployment: %q, %v", addr, err)
	}

	// Back to the revision-less istiod, whose Deployment has no label.
	back := `{"metadata":{"labels":{"` + naming.RevisionLabel + `":null}}}`
	if _, err := gateways.Patch(ctx, name, types.MergePatchType, []byte(back), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = client.WaitForGatewayAddress(short(), ns, name, nil)
	mustContain(t, err, `its Deployment rendered by revision "canary", waiting for revision "default"`)
	unlabel := `{"spec":{"template":{"metadata":{"labels":{"` + naming.RevisionLabel + `":null}}}}}`
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(unlabel), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if addr, err := client.WaitForGatewayAddress(ctx, ns, name, nil); err != nil || addr != "127.0.1.7" {
		t.Fatalf("the revision-less istiod's Deployment: %q, %v", addr, err)
	}
}
