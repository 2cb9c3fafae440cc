package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

// ambientIstio is the first release whose charts and istiod run an ambient
// multi-network mesh (beta since 1.29).
const ambientIstio = "1.30.0"

// TestAmbientMesh brings up an ambient mesh of three clusters through the
// CLI (verified by default: meshStatus must say every pair is synced) and
// judges it by the real istiods: each reads every peer (clusterz)
// and lists every peer's east-west gateway on HBONE 15008 (networkz), at
// the address its Gateway's status gives; istiod itself deployed each
// gateway from its Gateway. A sidecar mesh is then refused the switch to
// ambient at preview, and destroy leaves nothing ristio made, the Gateway
// API CRDs it installed included. ztunnel, CNI and the gateways' Envoy
// pods are emulated (marked running): no traffic flows.
func TestAmbientMesh(t *testing.T) {
	t.Parallel()
	w := world(t, 3)
	spec := meshSpec{
		kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 3), chartDirectory: testcharts.Directory(t),
		helloWorld: true, dataplane: "ambient", istioVersion: ambientIstio,
	}
	stack := pulumitest.InlineStack(t, "ristio-e2e", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	all := names(spec.clusters)

	t.Run("preview lists the ambient children of every cluster", func(t *testing.T) {
		steps := previewSteps(t, stack)
		for _, c := range all {
			for _, child := range []string{"-gateway-api-crds", "-istio", "-node-agents", "-eastwest", "-helloworld", "-cacerts"} {
				if steps["mesh-"+c+child] != "create" {
					t.Errorf("preview: %s is %q, want create; steps %v", "mesh-"+c+child, steps["mesh-"+c+child], steps)
				}
			}
		}
	})

	start := time.Now()
	res := pulumitest.Up(t, stack)
	t.Logf("up of an ambient mesh of 3 clusters: %s", time.Since(start).Round(time.Millisecond))
	addresses := map[string]string{}
	for c, a := range res.Outputs["gatewayAddresses"].Value.(map[string]any) {
		addresses[c] = a.(string)
	}

	// verify defaults on: up waited for every MeshCheck, so meshStatus is
	// istiod's own word that every cluster synced every peer, knows its
	// gateway on 15008 and trusts its chain, and that every east-west
	// Gateway is Programmed.
	t.Run("meshStatus: every cluster's istiod says every peer is synced", func(t *testing.T) {
		assertMeshStatus(t, res.Outputs, all)
	})

	for _, name := range all {
		c := w.Cluster(name)
		t.Run(name+": istiod deployed the east-west gateway from its Gateway, Programmed at the output address", func(t *testing.T) {
			gw, err := dynamicClient(t, c).Resource(gatewayapi.GatewayGVR).Namespace(istioNS).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := gatewayapi.ReadGatewayStatus(gw)
			if !s.Programmed || len(s.Addresses) == 0 || s.Addresses[0] != addresses[name] {
				t.Errorf("Gateway status %s; gatewayAddresses[%s] = %q", s, name, addresses[name])
			}
			dep, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := c.Client.CoreV1().Services(istioNS).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for what, m := range map[string]metav1.ObjectMeta{"Deployment": dep.ObjectMeta, "Service": svc.ObjectMeta} {
				if !meshassert.OwnedByEastWestGateway(m.OwnerReferences) || m.Labels["gateway.istio.io/managed"] != "istio.io-eastwest-controller" {
					t.Errorf("%s: owners %v, labels %v: want istiod's, owned by the Gateway", what, m.OwnerReferences, m.Labels)
				}
			}
			for _, rel := range []string{naming.CNIRelease, naming.ZtunnelRelease} {
				if got := releaseStatus(t, c, rel); got != "deployed" {
					t.Errorf("release %s: %q", rel, got)
				}
			}
			svcs, err := c.Client.CoreV1().Services(naming.SampleNamespace).List(ctx, metav1.ListOptions{})
			if err != nil || len(svcs.Items) == 0 {
				t.Fatalf("sample services: %v", err)
			}
			for _, s := range svcs.Items {
				if s.Labels[sample.GlobalLabel] != "true" {
					t.Errorf("sample service %s is not labelled %s=true: %v", s.Name, sample.GlobalLabel, s.Labels)
				}
			}
		})
		t.Run(name+": istiod reads every peer and lists its gateway on 15008", func(t *testing.T) {
			waitClusterz(t, c, "synced every peer", func(z map[string]string) bool {
				for _, peer := range peersOf(all, name) {
					if z[peer] != "synced" {
						return false
					}
				}
				return true
			})
			waitNetworkz(t, c, all, addresses)
		})
	}

	t.Run("a second preview shows no changes", func(t *testing.T) {
		if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
			t.Fatalf("preview after up: %v, want no changes", got)
		}
	})

	t.Run("destroy leaves nothing ristio made, its Gateway API CRDs included", func(t *testing.T) {
		start := time.Now()
		if _, err := stack.Destroy(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("destroy: %s", time.Since(start).Round(time.Millisecond))
		for _, name := range all {
			c := w.Cluster(name)
			meshassert.NothingLeft(t, c)
			meshassert.NoGatewayAPICRDs(t, c)
		}
	})

	t.Run("a live sidecar mesh is refused the switch to ambient at preview", func(t *testing.T) {
		// The same three clusters and release, verified as the ambient mesh
		// is: its up time stands beside the ambient one.
		sidecar := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 3), chartDirectory: spec.chartDirectory, istioVersion: ambientIstio, helloWorld: true}
		setProgram(t, &stack, sidecar)
		start := time.Now()
		pulumitest.Up(t, stack)
		t.Logf("up of a sidecar mesh of the same 3 clusters: %s", time.Since(start).Round(time.Millisecond))
		sidecar.dataplane = "ambient"
		setProgram(t, &stack, sidecar)
		_, err := stack.Preview(ctx)
		if err == nil || !containsAll(err.Error(), "istio/istio#61746", "from sidecar to ambient", "Ambient meshes", "cluster1") {
			t.Fatalf("preview of the switch: %v; want a refusal naming the cluster, istio/istio#61746 and the README's way", err)
		}
		if _, err := stack.Destroy(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Cluster("cluster1").Client.CoreV1().Namespaces().Get(ctx, istioNS, metav1.GetOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	})
}

// waitNetworkz waits until c's istiod lists, in /debug/networkz, every
// cluster's east-west gateway at its address on HBONE 15008.
func waitNetworkz(t *testing.T, c *localcluster.Cluster, all []string, addresses map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var last string
	for {
		ds, err := istiod.Ask(ctx, istiodClient(t, c), "")
		if err == nil && len(ds) > 0 && ds[0].NetworkzErr == nil {
			last = string(ds[0].Networkz)
			var gws []struct {
				Network, Cluster, Addr string
				HBONEPort              int
			}
			if err := json.Unmarshal(ds[0].Networkz, &gws); err == nil {
				missing := ""
				for _, peer := range all {
					found := false
					for _, g := range gws {
						found = found || (g.Network == naming.DefaultNetwork(peer) && g.Addr == addresses[peer] && g.HBONEPort == naming.HBONEPort)
					}
					if !found {
						missing = peer
					}
				}
				if missing == "" {
					t.Logf("%s: /debug/networkz: %s", c.Name, last)
					return
				}
				last = fmt.Sprintf("no gateway of %s at %s:%d in %s", missing, addresses[missing], naming.HBONEPort, last)
			}
		} else {
			last = fmt.Sprint(err, ds)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: istiod never listed every gateway: %s", c.Name, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
