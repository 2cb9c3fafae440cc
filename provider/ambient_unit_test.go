package provider

import (
	"context"
	"errors"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// ambientFake adds what the ambient children ask of a cluster: objects of
// a kind counted from the fake's own, and a Gateway whose status istiod
// (here the test) writes.
type ambientFake struct {
	*fakeCluster
	extra   int      // objects of every counted kind the fake does not hold
	istiods []string // istiod Deployments running
}

func (f ambientFake) CountObjects(ctx context.Context, gvk schema.GroupVersionKind) (int, error) {
	if err := f.call(ctx, "CountObjects"); err != nil {
		return 0, err
	}
	n := f.extra
	for _, o := range f.objects {
		if o.GroupVersionKind().GroupKind() == gvk.GroupKind() {
			n++
		}
	}
	return n, nil
}

func (f ambientFake) DeploymentNames(ctx context.Context, _, _ string) ([]string, error) {
	return f.istiods, f.call(ctx, "DeploymentNames")
}

func (f ambientFake) WaitForGatewayAddress(ctx context.Context, ns, name string, _ kube.Progress) (string, error) {
	if err := f.call(ctx, "WaitForGatewayAddress"); err != nil {
		return "", err
	}
	gw, _ := f.Get(ctx, gatewayapi.GatewayGVK, ns, name)
	if gw == nil {
		return "", errFake
	}
	return "203.0.113.8", nil
}

func crdsUnder(t *testing.T, f *fakeCluster) []string {
	t.Helper()
	var names []string
	for _, o := range f.objects {
		if o.GroupVersionKind() == crdGVK {
			names = append(names, o.GetName())
		}
	}
	return names
}

func TestGatewayAPICRDsOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := GatewayAPICRDsArgs{Cluster: ClusterConnection{Name: "east"}, TimeoutSeconds: ptr.To(1)}
	pinned := len(gatewayapi.CRDs())
	gateways := "gateways.gateway.networking.k8s.io"
	foreign := func(version string) *unstructured.Unstructured {
		crd := gatewayapi.CRDs()[0]
		for _, c := range gatewayapi.CRDs() {
			if c.GetName() == gateways {
				crd = c
			}
		}
		crd.SetLabels(nil)
		a := crd.GetAnnotations()
		a[gatewayapi.BundleVersionAnnotation] = version
		crd.SetAnnotations(a)
		return crd
	}
	newCRDs := func(f ambientFake) *GatewayAPICRDs {
		r := newGatewayAPICRDs(Deps{})
		r.claims = &fakeClaims{}
		r.connect = func(context.Context, ClusterConnection, writer) (gatewayAPICRDsKube, error) { return f, nil }
		return r
	}

	t.Run("absent CRDs are installed, and go on delete once unused", func(t *testing.T) {
		f := ambientFake{fakeCluster: newFakeCluster()}
		r := newCRDs(f)
		got, err := r.Create(ctx, infer.CreateRequest[GatewayAPICRDsArgs]{Name: "crds", Inputs: in})
		if err != nil || len(got.Output.Created) != pinned || len(crdsUnder(t, f.fakeCluster)) != pinned || got.Output.Version != gatewayapi.Version() {
			t.Fatalf("create: %v, state %+v, cluster %v", err, got.Output, crdsUnder(t, f.fakeCluster))
		}
		delete(f.objects, fakeKey(crdGVK, "", gateways)) // deleted by hand
		read, err := r.Read(ctx, infer.ReadRequest[GatewayAPICRDsArgs, GatewayAPICRDsState]{ID: got.ID, Inputs: in, State: got.Output})
		if err != nil || len(read.State.Missing) != 1 {
			t.Fatalf("read: %v, missing %v", err, read.State.Missing)
		}
		if diff, _ := r.Diff(ctx, infer.DiffRequest[GatewayAPICRDsArgs, GatewayAPICRDsState]{ID: got.ID, State: read.State, Inputs: in}); !diff.HasChanges {
			t.Error("a CRD deleted by hand shows no diff")
		}
		if _, err := r.Update(ctx, infer.UpdateRequest[GatewayAPICRDsArgs, GatewayAPICRDsState]{ID: got.ID, State: read.State, Inputs: in}); err != nil || len(crdsUnder(t, f.fakeCluster)) != pinned {
			t.Fatalf("repair: %v, cluster %v", err, crdsUnder(t, f.fakeCluster))
		}
		// A Gateway left in the cluster keeps every CRD: the fake counts one
		// object of every kind.
		inUse := ambientFake{fakeCluster: f.fakeCluster, extra: 1}
		if _, err := newCRDs(inUse).Delete(ctx, infer.DeleteRequest[GatewayAPICRDsState]{ID: got.ID, State: got.Output}); err != nil {
			t.Fatal(err)
		}
		if n := len(crdsUnder(t, f.fakeCluster)); n != pinned {
			t.Fatalf("delete with objects left removed CRDs: %d of %d left", n, pinned)
		}
		if _, err := r.Delete(ctx, infer.DeleteRequest[GatewayAPICRDsState]{ID: got.ID, State: got.Output}); err != nil {
			t.Fatal(err)
		}
		if left := crdsUnder(t, f.fakeCluster); len(left) != 0 {
			t.Errorf("delete left %v", left)
		}
	})

	t.Run("the GatewayClasses istiod left go with its CRD; another controller's stay", func(t *testing.T) {
		f := ambientFake{fakeCluster: newFakeCluster()}
		r := newCRDs(f)
		got, err := r.Create(ctx, infer.CreateRequest[GatewayAPICRDsArgs]{Name: "crds", Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		class := func(name, controller string) {
			gc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"controllerName": controller}}}
			gc.SetGroupVersionKind(gatewayapi.GatewayClassGVK)
			gc.SetName(name)
			f.objects[fakeKey(gatewayapi.GatewayClassGVK, "", name)] = gc
		}
		class(gatewayapi.EastWestClass, "istio.io/eastwest-controller")
		class("istio-waypoint", "istio.io/mesh-controller")
		class("other", "example.com/controller")
		withIstiod := newCRDs(ambientFake{fakeCluster: f.fakeCluster, istiods: []string{"istiod"}})
		if _, err := withIstiod.Delete(ctx, infer.DeleteRequest[GatewayAPICRDsState]{ID: got.ID, State: got.Output}); err != nil {
			t.Fatal(err)
		}
		if f.objects[fakeKey(gatewayapi.GatewayClassGVK, "", gatewayapi.EastWestClass)] == nil {
			t.Error("a running istiod's class was deleted")
		}
		if _, err := r.Delete(ctx, infer.DeleteRequest[GatewayAPICRDsState]{ID: got.ID, State: got.Output}); err != nil {
			t.Fatal(err)
		}
		if f.objects[fakeKey(gatewayapi.GatewayClassGVK, "", gatewayapi.EastWestClass)] != nil || f.objects[fakeKey(gatewayapi.GatewayClassGVK, "", "istio-waypoint")] != nil {
			t.Errorf("istiod's class survived")
		}
		if f.objects[fakeKey(gatewayapi.GatewayClassGVK, "", "other")] == nil {
			t.Error("another controller's class was deleted")
		}
		if left := crdsUnder(t, f.fakeCluster); len(left) != 1 || left[0] != "gatewayclasses."+gatewayapi.Group {
			t.Errorf("CRDs left %v, want only gatewayclasses (still used by the other class)", left)
		}
	})

	t.Run("a newer CRD someone else installed is kept and never deleted", func(t *testing.T) {
		f := ambientFake{fakeCluster: newFakeCluster()}
		newer := foreign("v1.99.0")
		f.objects[fakeKey(crdGVK, "", gateways)] = newer
		r := newCRDs(f)
		got, err := r.Create(ctx, infer.CreateRequest[GatewayAPICRDsArgs]{Name: "crds", Inputs: in})
		if err != nil || len(got.Output.Kept) != 1 || got.Output.Kept[0] != gateways || len(got.Output.Created) != pinned-1 {
			t.Fatalf("create: %v, state %+v", err, got.Output)
		}
		if _, err := r.Delete(ctx, infer.DeleteRequest[GatewayAPICRDsState]{ID: got.ID, State: got.Output}); err != nil {
			t.Fatal(err)
		}
		if left := crdsUnder(t, f.fakeCluster); len(left) != 1 || left[0] != gateways {
			t.Errorf("delete left %v, want only the foreign %s", left, gateways)
		}
	})

	t.Run("an older CRD someone else installed is refused with nothing written", func(t *testing.T) {
		f := ambientFake{fakeCluster: newFakeCluster()}
		f.objects[fakeKey(crdGVK, "", gateways)] = foreign("v1.2.0")
		_, err := newCRDs(f).Create(ctx, infer.CreateRequest[GatewayAPICRDsArgs]{Name: "crds", Inputs: in})
		if err == nil || !strings.Contains(err.Error(), "upgrade the Gateway API CRDs") || !strings.Contains(err.Error(), "cluster east") {
			t.Fatalf("create: %v, want a refusal naming the cluster and what to do", err)
		}
		if f.writes != 0 {
			t.Errorf("%d writes before the refusal", f.writes)
		}
		plan, err := planCRDs(ctx, f)
		if err != nil || plan[0].decision.Action == gatewayapi.Keep {
			t.Errorf("plan: %v", err)
		}
	})
}

func TestAmbientEastWestGatewayOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := AmbientEastWestGatewayArgs{Cluster: ClusterConnection{Name: "east"}, Network: "network1", Revision: ptr.To("canary"), TimeoutSeconds: ptr.To(1)}
	f := ambientFake{fakeCluster: newFakeCluster()}
	r := newAmbientEastWestGateway(Deps{})
	r.claims = &fakeClaims{}
	r.connect = func(context.Context, ClusterConnection, writer) (ambientGatewayKube, error) { return f, nil }
	got, err := r.Create(ctx, infer.CreateRequest[AmbientEastWestGatewayArgs]{Name: "gw", Inputs: in})
	if err != nil || got.Output.Address != "203.0.113.8" || !got.Output.Programmed || !got.Output.GatewayPresent {
		t.Fatalf("create: %v, state %+v", err, got.Output)
	}
	gw := f.objects[fakeKey(gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)]
	if gw == nil || gw.GetLabels()[naming.NetworkLabel] != "network1" || gw.GetLabels()[naming.RevisionLabel] != "canary" {
		t.Fatalf("Gateway written: %v", gw)
	}
	if cls, _, _ := unstructured.NestedString(gw.Object, "spec", "gatewayClassName"); cls != gatewayapi.EastWestClass {
		t.Errorf("class %q", cls)
	}
	// istiod's status is what read reports.
	_ = unstructured.SetNestedSlice(gw.Object, []any{map[string]any{"type": "Programmed", "status": "True"}}, "status", "conditions")
	_ = unstructured.SetNestedSlice(gw.Object, []any{map[string]any{"value": "198.51.100.1"}}, "status", "addresses")
	read, err := r.Read(ctx, infer.ReadRequest[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState]{ID: got.ID, Inputs: in, State: got.Output})
	if err != nil || read.State.Address != "198.51.100.1" || !read.State.Programmed {
		t.Fatalf("read: %v, state %+v", err, read.State)
	}
	if _, err := r.Delete(ctx, infer.DeleteRequest[AmbientEastWestGatewayState]{ID: got.ID, State: got.Output}); err != nil {
		t.Fatal(err)
	}
	if len(f.objects) != 0 {
		t.Errorf("delete left %v", f.objects)
	}

	// A Gateway istiod never programs keeps the partial state: up fails, and
	// a later up or destroy knows the Gateway.
	never := ambientFake{fakeCluster: newFakeCluster()}
	never.failOn = "WaitForGatewayAddress"
	r.connect = func(context.Context, ClusterConnection, writer) (ambientGatewayKube, error) { return never, nil }
	partial, err := r.Create(ctx, infer.CreateRequest[AmbientEastWestGatewayArgs]{Name: "gw", Inputs: in})
	var initFailed infer.ResourceInitFailedError
	if !errors.As(err, &initFailed) || partial.ID == "" || !partial.Output.GatewayPresent || partial.Output.Address != "" {
		t.Errorf("a Gateway never programmed: %v, state %+v; want partial state without an address", err, partial.Output)
	}
}

func TestAmbientControlPlaneOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := IstioControlPlaneArgs{
		Cluster: ClusterConnection{Name: "east"}, MeshID: "mesh1", Network: "network1", IstioVersion: "1.29.0",
		Dataplane: ptr.To(dataplaneAmbient), TimeoutSeconds: ptr.To(1), ChartSource: ChartSource{ChartDirectory: chartDirectory(t)},
	}
	cluster, releases := newFakeCluster(), map[string]*helm.Release{}
	r := newIstioControlPlane(Deps{})
	r.claims = &fakeClaims{}
	r.connect = fakeKubeHelm[controlPlaneKube](cluster, controlPlaneFake{cluster}, releases)
	got, err := r.Create(ctx, infer.CreateRequest[IstioControlPlaneArgs]{Name: "cp", Inputs: in})
	if err != nil || got.Output.IstiodStatus != deployed {
		t.Fatalf("create: %v, state %+v", err, got.Output)
	}
	if istiod := releases[naming.IstiodRelease].Values; istiod["profile"] != "ambient" {
		t.Errorf("istiod values %v: want the ambient profile", istiod)
	}
	// The node agents are AmbientNodeAgents', one pair for every revision.
	for _, rel := range nodeAgentReleases {
		if releases[rel] != nil {
			t.Errorf("the control plane installed %s", rel)
		}
	}
	if _, err := r.Delete(ctx, infer.DeleteRequest[IstioControlPlaneState]{ID: got.ID, State: got.Output}); err != nil {
		t.Fatal(err)
	}
	if len(releases) != 0 {
		t.Errorf("delete left releases %v", releases)
	}
}

// TestAmbientNodeAgentsOverAFakeCluster: the node agents install cni then
// ztunnel with the cluster's name and network, repair a release removed by
// hand, move in place to another version and revision, refuse a release
// that is not the mesh's without writing, and uninstall both.
func TestAmbientNodeAgentsOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := AmbientNodeAgentsArgs{
		Cluster: ClusterConnection{Name: "east"}, Network: "network1", IstioVersion: "1.30.0",
		TimeoutSeconds: ptr.To(1), ChartSource: ChartSource{ChartDirectory: chartDirectory(t)},
	}
	cluster, releases := newFakeCluster(), map[string]*helm.Release{}
	r := newAmbientNodeAgents(Deps{})
	r.claims = &fakeClaims{}
	r.connect = fakeHelm(cluster, releases)
	got, err := r.Create(ctx, infer.CreateRequest[AmbientNodeAgentsArgs]{Name: "agents", Inputs: in})
	if err != nil || got.Output.CNIStatus != deployed || got.Output.ZtunnelStatus != deployed {
		t.Fatalf("create: %v, state %+v", err, got.Output)
	}
	zt := releases[naming.ZtunnelRelease].Values
	if mc, _ := zt["multiCluster"].(map[string]any); mc["clusterName"] != "east" {
		t.Errorf("ztunnel values %v: want multiCluster.clusterName east", zt)
	}
	if _, set := zt["revision"]; set {
		t.Errorf("ztunnel values %v: no revision was asked for", zt)
	}

	delete(releases, naming.ZtunnelRelease) // uninstalled by hand
	read, err := r.Read(ctx, infer.ReadRequest[AmbientNodeAgentsArgs, AmbientNodeAgentsState]{ID: got.ID, Inputs: in, State: got.Output})
	if err != nil || read.State.ZtunnelStatus != "" || read.State.CNIStatus != deployed {
		t.Fatalf("read: %v, state %+v", err, read.State)
	}
	if diff, _ := r.Diff(ctx, infer.DiffRequest[AmbientNodeAgentsArgs, AmbientNodeAgentsState]{ID: got.ID, State: read.State, Inputs: in}); !diff.HasChanges || diff.DeleteBeforeReplace {
		t.Errorf("ztunnel removed by hand: diff %+v, want an update", diff)
	}

	// The default tag moved to a canary: both releases follow it in place.
	moved := in
	moved.IstioVersion, moved.Revision = "1.30.1", ptr.To("canary")
	diff, _ := r.Diff(ctx, infer.DiffRequest[AmbientNodeAgentsArgs, AmbientNodeAgentsState]{ID: got.ID, State: read.State, Inputs: moved})
	for key, d := range diff.DetailedDiff {
		if d.Kind != p.Update && d.Kind != p.Add {
			t.Errorf("diff of %s is %v, want in place", key, d.Kind)
		}
	}
	up, err := r.Update(ctx, infer.UpdateRequest[AmbientNodeAgentsArgs, AmbientNodeAgentsState]{ID: got.ID, Inputs: moved, State: read.State})
	if err != nil || up.Output.ZtunnelStatus != deployed {
		t.Fatalf("update: %v, state %+v", err, up.Output)
	}
	if rev := releases[naming.ZtunnelRelease].Values["revision"]; rev != "canary" {
		t.Errorf("ztunnel revision %v, want canary", rev)
	}
	if cni := releases[naming.CNIRelease]; cni.Revision != 2 || cni.Values["revision"] != "canary" {
		t.Errorf("cni release %+v: want upgraded in place to the canary", cni)
	}

	if _, err := r.Delete(ctx, infer.DeleteRequest[AmbientNodeAgentsState]{ID: got.ID, State: up.Output}); err != nil {
		t.Fatal(err)
	}
	if len(releases) != 0 {
		t.Errorf("delete left releases %v", releases)
	}

	// A ztunnel that is not the mesh's stops the create before cni is written.
	releases[naming.ZtunnelRelease] = &helm.Release{Name: naming.ZtunnelRelease, Status: deployed, Revision: 1}
	writes := cluster.writes
	if _, err := r.Create(ctx, infer.CreateRequest[AmbientNodeAgentsArgs]{Name: "agents", Inputs: in}); err == nil || !strings.Contains(err.Error(), naming.ZtunnelRelease) {
		t.Errorf("create over a foreign ztunnel: %v, want a refusal naming it", err)
	}
	if cluster.writes != writes || releases[naming.CNIRelease] != nil {
		t.Errorf("a refused create wrote %d times", cluster.writes-writes)
	}
}

func TestDataplaneSwitchRefused(t *testing.T) {
	ambient, sidecar := ptr.To(dataplaneAmbient), ptr.To(dataplaneSidecar)
	for name, tc := range map[string]struct {
		now, old *string
		live     bool
		want     string
	}{
		"a new ambient control plane":           {now: ambient, want: ""},
		"a live ambient one stays ambient":      {now: ambient, old: ambient, live: true, want: ""},
		"unset is sidecar":                      {now: sidecar, live: true, want: ""},
		"sidecar to ambient names the issue":    {now: ambient, live: true, want: "istio/istio#61746"},
		"ambient to sidecar is refused too":     {now: nil, old: ambient, live: true, want: "from ambient to sidecar"},
		"an unknown data plane names the field": {now: ptr.To("envoy"), want: `must be sidecar or ambient, got "envoy"`},
	} {
		t.Run(name, func(t *testing.T) {
			failures := checkDataplane("east", tc.now, tc.old, tc.live)
			switch {
			case tc.want == "" && len(failures) > 0:
				t.Errorf("refused: %v", failures)
			case tc.want != "" && (len(failures) != 1 || failures[0].Property != "dataplane" || !strings.Contains(failures[0].Reason, tc.want) || !strings.Contains(failures[0].Reason, `"east"`)):
				t.Errorf("failures %v, want one on dataplane naming the cluster and %q", failures, tc.want)
			}
		})
	}
	f := checkDataplane("east", ambient, nil, true)
	if len(f) == 0 || !strings.Contains(f[0].Reason, "Ambient meshes") {
		t.Errorf("the refusal %v should point at the README's section", f)
	}
}
