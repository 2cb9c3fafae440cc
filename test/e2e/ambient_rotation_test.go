package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

// TestAmbientRootRotation rotates the root of a live ambient mesh of two
// clusters in the three documented steps, as TestRootRotation does for
// sidecars and with its helpers: each preview is exactly the step (no
// IstioControlPlane, east-west Gateway or RemoteSecret changes), up passes
// the ambient MeshCheck, every istiod reloads cacerts without a restart and
// serves from its current intermediate, and a second preview is empty. The
// rotated mesh then passes checkMesh with dataplane ambient, which fails
// naming the pair when a peer's gateway is given at an address istiod does
// not list on HBONE 15008, and once a peer's east-west Gateway is deleted. ztunnel and
// the gateways' proxies are emulated (marked running): what is proven is
// istiod's side of the rotation, not that ztunnel picks up the new roots.
func TestAmbientRootRotation(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	spec := meshSpec{
		kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t),
		dataplane: "ambient", istioVersion: ambientIstio, timeoutSeconds: 90,
	}
	r := rotation{t: t, w: w, spec: spec, stackName: "ristio-rotate-ambient"}
	start := time.Now()
	r.startGenerated()
	t.Logf("up of an ambient mesh of 2 clusters, then the move to roots: [default]: %s", time.Since(start).Round(time.Millisecond))
	r.rotateGenerated()

	t.Run("checkMesh with dataplane ambient passes on the rotated mesh", func(t *testing.T) {
		// The gateway is judged the ambient way: istiod must list it on
		// HBONE 15008.
		wrong := checkMeshCall(t, checkMeshInput{kubeconfig: w.Kubeconfig, dataplane: "ambient", gateways: map[string]string{"cluster2": "127.0.1.99"}})
		if healthy, _ := wrong["healthy"].(bool); healthy {
			t.Fatalf("checkMesh with a wrong gateway address is healthy: %v", wrong)
		}
		if problems := fmt.Sprint(wrong["problems"]); !containsAll(problems, "cluster1: ", "cluster2's gateway at 127.0.1.99:15008", "network-cluster2") ||
			strings.Contains(problems, "cluster2: ") {
			t.Errorf("problems %s: want exactly cluster1's view of cluster2's gateway on 15008 named", problems)
		}
		start := time.Now()
		got := checkMeshCall(t, checkMeshInput{kubeconfig: w.Kubeconfig, dataplane: "ambient"})
		t.Logf("checkMesh: %s", time.Since(start).Round(time.Millisecond))
		if healthy, _ := got["healthy"].(bool); !healthy {
			t.Fatalf("checkMesh of the rotated ambient mesh: %v", got)
		}
	})

	t.Run("checkMesh names the cluster whose east-west Gateway is gone", func(t *testing.T) {
		ctx := context.Background()
		err := dynamicClient(t, w.Cluster("cluster2")).Resource(gatewayapi.GatewayGVR).Namespace(istioNS).
			Delete(ctx, gatewayapi.EastWestGatewayName, metav1.DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := checkMeshCall(t, checkMeshInput{kubeconfig: w.Kubeconfig, dataplane: "ambient"})
		if healthy, _ := got["healthy"].(bool); healthy {
			t.Fatalf("checkMesh with cluster2's east-west Gateway deleted is healthy: %v", got)
		}
		problems := fmt.Sprint(got["problems"])
		t.Logf("checkMesh problems: %s", problems)
		want := "cluster2 has no east-west Gateway " + istioNS + "/" + gatewayapi.EastWestGatewayName
		if !containsAll(problems, "cluster1: ", want) || strings.Contains(problems, "cluster2: ") {
			t.Errorf("problems %s: want exactly cluster1's view of cluster2 named, saying %q", problems, want)
		}
		status, _ := got["status"].(map[string]any)
		if own, _ := status["cluster2"].(map[string]any); own["cluster1"] != "synced" {
			t.Errorf("checkMesh status of cluster2's view of cluster1 = %v, want synced (only cluster2's Gateway is gone)", own["cluster1"])
		}
	})
}
