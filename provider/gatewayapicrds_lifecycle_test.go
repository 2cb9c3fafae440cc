package provider_test

import (
	"context"
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

// TestGatewayAPICRDsLifecycle drives GatewayAPICRDs through the provider
// over a real API server: an older Gateway API CRD someone else installed
// fails the preview with nothing written; once it is gone, up installs the
// pinned CRDs, a second create keeps them, and delete removes only what the
// first installed.
func TestGatewayAPICRDsLifecycle(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	ctx := context.Background()
	s := lifecycleServer(t, &clock{now: time.Now()})
	crds := dynamicFor(t, c).Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	gateways := "gateways." + gatewayapi.Group
	ours := func(t *testing.T) []string {
		t.Helper()
		list, err := crds.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, crd := range list.Items {
			if strings.HasSuffix(crd.GetName(), "."+gatewayapi.Group) {
				names = append(names, crd.GetName())
			}
		}
		return names
	}
	r := newResource(s, "GatewayAPICRDs", "crds")
	inputs := r.check(t, map[string]property.Value{"cluster": fileConn(w, c.Name), "timeoutSeconds": property.New(lifecycleTimeout)})

	step(t, "an older CRD someone else installed fails the preview", func(t *testing.T) {
		for _, crd := range gatewayapi.CRDs() {
			if crd.GetName() != gateways {
				continue
			}
			crd.SetLabels(nil)
			a := crd.GetAnnotations()
			a[gatewayapi.BundleVersionAnnotation] = "v1.2.0"
			crd.SetAnnotations(a)
			if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.Create(p.CreateRequest{Urn: r.urn, Properties: inputs, DryRun: true, Timeout: lifecycleTimeout})
		if err == nil || !strings.Contains(err.Error(), "older than ristio's") || !strings.Contains(err.Error(), c.Name) {
			t.Fatalf("preview: %v, want the refusal naming the cluster", err)
		}
		if got := ours(t); len(got) != 1 {
			t.Errorf("preview wrote CRDs: %v", got)
		}
		if err := crds.Delete(ctx, gateways, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the foreign CRD gone", func() (bool, error) {
			_, err := crds.Get(ctx, gateways, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})

	step(t, "up installs the pinned CRDs; a second resource keeps them", func(t *testing.T) {
		r.preview(t, inputs)
		r.create(t, inputs)
		if got := ours(t); len(got) != len(gatewayapi.CRDs()) {
			t.Fatalf("installed %v", got)
		}
		other := newResource(s, "GatewayAPICRDs", "other")
		other.create(t, other.check(t, map[string]property.Value{"cluster": fileConn(w, c.Name)}))
		if kept := other.state.Get("kept"); !kept.IsArray() || kept.AsArray().Len() != len(gatewayapi.CRDs()) {
			t.Errorf("the second resource's kept = %v, want every CRD", kept)
		}
		other.delete(t)
		if got := ours(t); len(got) != len(gatewayapi.CRDs()) {
			t.Errorf("deleting the resource that kept them removed CRDs: %v left", got)
		}
	})

	step(t, "delete removes what it installed", func(t *testing.T) {
		r.delete(t)
		eventually(t, "the CRDs gone", func() (bool, error) { return len(ours(t)) == 0, nil })
	})
}
