package provider

import (
	"context"
	"io"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// releaseWorld is one release namespace in memory: what ownedRelease and
// uninstallOwned decide does not need a cluster.
func releaseWorld(t *testing.T) *action.Configuration {
	t.Helper()
	return &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: chartutil.DefaultCapabilities,
	}
}

func clientAs(cfg *action.Configuration, w writer) *helm.Client {
	hc := helm.NewForConfiguration(cfg, naming.IstioNamespace, nil)
	hc.Owner, hc.Mesh = w.owner, w.mesh.LabelValue()
	return hc
}

var emptyChart = &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "base", Version: "1.0.0"}}

func TestAnotherMeshsReleaseIsRefusedAndKept(t *testing.T) {
	ctx := context.Background()
	cfg := releaseWorld(t)
	a := writer{mesh: "usmesh/prod/mesh", owner: "prod-cluster1-istio-1234"}
	b := writer{mesh: "devmesh/dev/mesh", owner: "dev-cluster1-istio-5678"}
	if _, err := clientAs(cfg, a).Apply(ctx, naming.BaseRelease, emptyChart, nil); err != nil {
		t.Fatal(err)
	}

	_, err := ownedRelease(ctx, clientAs(cfg, b), b, "cluster1", naming.BaseRelease)
	want := "cluster cluster1: Helm release istio-system/istio-base belongs to another mesh, " + a.mesh.LabelValue()
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "adopt: true") {
		t.Errorf("another mesh's release: %v, want %q", err, want)
	}
	taking := clientAs(cfg, b)
	taking.TakeOwnership = true
	if _, err := ownedRelease(ctx, taking, b, "cluster1", naming.BaseRelease); err != nil {
		t.Errorf("adopt did not take another mesh's release over: %v", err)
	}
	if rel, err := ownedRelease(ctx, clientAs(cfg, a), writer{mesh: a.mesh, owner: "prod-cluster1-istio-other"}, "cluster1", naming.BaseRelease); err != nil || rel == nil {
		t.Errorf("this mesh's release, written by another of its resources: %v, %v", rel, err)
	}

	for _, w := range []writer{b, {mesh: b.mesh}, {owner: a.owner}} {
		if err := uninstallOwned(ctx, clientAs(cfg, w), w, "cluster1", naming.BaseRelease); err != nil {
			t.Fatal(err)
		}
		if rel, err := clientAs(cfg, a).Get(ctx, naming.BaseRelease); err != nil || rel == nil {
			t.Fatalf("writer %+v uninstalled another mesh's release (%v)", w, err)
		}
	}
	if err := uninstallOwned(ctx, clientAs(cfg, a), writer{mesh: a.mesh}, "cluster1", naming.BaseRelease); err != nil {
		t.Fatal(err)
	}
	if rel, err := clientAs(cfg, a).Get(ctx, naming.BaseRelease); err != nil || rel != nil {
		t.Errorf("the mesh's own release survived its uninstall: %v, %v", rel, err)
	}
}
