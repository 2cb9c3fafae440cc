package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestAmbientCanaryUpgrade walks a 2-cluster ambient mesh through Istio's
// revision-based canary upgrade, as for sidecars: a second revision at a
// newer version beside the first, the default tag moved to it, the old
// revision removed. What is particular to ambient: the node agents (cni and
// ztunnel, one pair per cluster) and the east-west Gateway stay with the
// old revision until the tag moves, then follow it in place, and the
// canary's istiod re-deploys the Gateway. Both revisions' istiods run for
// real and the mesh check asks every one; ztunnel and the gateway's proxies
// are emulated, so the test proves what istiod and Helm hold, not traffic.
func TestAmbientCanaryUpgrade(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	const oldV, newV, canary = ambientIstio, "1.30.1", "1-30-1"
	spec := meshSpec{
		kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Package(t, oldV, newV),
		helloWorld: true, dataplane: "ambient", revisions: []revisionSpec{{"default", oldV}}, defaultRevision: "default",
	}
	stack := pulumitest.InlineStack(t, "ristio-ambient-canary", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	start := time.Now()
	pulumitest.Up(t, stack)
	t.Logf("0: up of a 2-cluster ambient mesh with revision default: %s", time.Since(start).Round(time.Millisecond))
	all := names(spec.clusters)

	spec.revisions = append(spec.revisions, revisionSpec{canary, newV})
	upStep(t, &stack, spec, "1: add the canary revision",
		eachCluster(eachCluster(map[string]string{}, all, "-istio-"+canary, "create"), all, "-check", "update"))
	for _, c := range w.Clusters {
		if pods := istiodPods(t, c); len(pods) != 2 {
			t.Errorf("%s: running istiods %v, want one per revision", c.Name, pods)
		}
		// Nothing the data plane uses has moved yet.
		assertNodeAgents(t, w, c, oldV, "")
		assertGatewayRevision(t, c, "")
	}

	spec.defaultRevision = canary
	// Preview says what the move restarts.
	setProgram(t, &stack, spec)
	if out := pulumitest.Preview(t, stack).StdOut; !containsAll(out,
		"cluster1: istio-cni and ztunnel will be upgraded in place from 1.30.0 (revision default) to 1.30.1 (revision 1-30-1)", "each node's ztunnel restarts",
		"cluster2: the east-west Gateway moves to revision 1-30-1: istiod-1-30-1 re-deploys it") {
		t.Errorf("preview of the move does not say what restarts:\n%s", out)
	}
	want := eachCluster(map[string]string{}, all, "-default-tag", "update")
	eachCluster(want, all, "-node-agents", "update")
	upStep(t, &stack, spec, "2: move the default tag to the canary", eachCluster(want, all, "-eastwest", "update"))
	for _, c := range w.Clusters {
		assertTag(t, c, canary, "istiod-"+canary)
		assertNodeAgents(t, w, c, newV, canary)
		assertGatewayRevision(t, c, canary)
		waitGatewayDeployedBy(t, c, canary)
	}

	spec.revisions = spec.revisions[1:]
	out := upStep(t, &stack, spec, "3: remove the old revision",
		eachCluster(eachCluster(map[string]string{}, all, "-istio", "delete"), all, "-check", "update"))
	addresses := map[string]string{}
	for c, a := range out["gatewayAddresses"].Value.(map[string]any) {
		addresses[c] = a.(string)
	}
	for _, c := range w.Clusters {
		if pods := istiodPods(t, c); len(pods) != 1 || !strings.HasPrefix(pods[0], "istiod-"+canary) {
			t.Errorf("%s: running istiods %v, want the canary's only", c.Name, pods)
		}
		assertNodeAgents(t, w, c, newV, canary)
		// The canary alone now lists every cluster's gateway on 15008.
		waitNetworkz(t, c, all, addresses)
	}

	if _, err := stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	for _, c := range w.Clusters {
		meshassert.NothingLeft(t, c)
	}
}

// assertNodeAgents checks that c's cni and ztunnel releases are deployed at
// version for revision ("" for the revision-less istiod), and that the
// ztunnel DaemonSet the chart rendered takes its certificates and
// configuration from that revision's istiod.
func assertNodeAgents(t *testing.T, w *localcluster.World, c *localcluster.Cluster, version, revision string) {
	t.Helper()
	for _, name := range []string{naming.CNIRelease, naming.ZtunnelRelease} {
		rel := helmRelease(t, w.Kubeconfig, c, name)
		got, _ := rel.Values["revision"].(string)
		if rel.Status != "deployed" || rel.ChartVersion != version || got != revision {
			t.Errorf("%s: release %s is %s at %s for revision %q, want deployed at %s for %q", c.Name, name, rel.Status, rel.ChartVersion, got, version, revision)
		}
	}
	ds, err := c.Client.AppsV1().DaemonSets(istioNS).Get(context.Background(), "ztunnel", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: ztunnel DaemonSet: %v", c.Name, err)
	}
	istiod := naming.IstiodDeployment(revision) + "." + istioNS + ".svc:15012"
	for _, container := range ds.Spec.Template.Spec.Containers {
		for _, env := range container.Env {
			if (env.Name == "CA_ADDRESS" || env.Name == "XDS_ADDRESS") && env.Value != istiod {
				t.Errorf("%s: ztunnel's %s is %q, want %q", c.Name, env.Name, env.Value, istiod)
			}
		}
	}
	if tmpl, _ := json.Marshal(ds.Spec.Template); !strings.Contains(string(tmpl), istiod) {
		t.Errorf("%s: ztunnel's pod template names no %s", c.Name, istiod)
	}
}

// assertGatewayRevision checks the east-west Gateway's istio.io/rev label.
func assertGatewayRevision(t *testing.T, c *localcluster.Cluster, revision string) {
	t.Helper()
	gw, err := dynamicClient(t, c).Resource(gatewayapi.GatewayGVR).Namespace(istioNS).Get(context.Background(), gatewayapi.EastWestGatewayName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := gw.GetLabels()[naming.RevisionLabel]; got != revision {
		t.Errorf("%s: Gateway %s=%q, want %q", c.Name, naming.RevisionLabel, got, revision)
	}
}

// waitGatewayDeployedBy waits until revision's istiod has re-rendered the
// east-west gateway's Deployment: its pods carry the revision and name that
// istiod's Service as their discovery address.
func waitGatewayDeployedBy(t *testing.T, c *localcluster.Cluster, revision string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start, last := time.Now(), ""
	want := naming.IstiodDeployment(revision) + "." + istioNS + ".svc:15012"
	for {
		d, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
		if err == nil {
			tmpl, _ := json.Marshal(d.Spec.Template)
			if d.Spec.Template.Labels[naming.RevisionLabel] == revision && strings.Contains(string(tmpl), want) {
				t.Logf("%s: the gateway was deployed by %s %s after up", c.Name, revision, time.Since(start).Round(time.Millisecond))
				return
			}
			last = fmt.Sprintf("pod template labels %v", d.Spec.Template.Labels)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: the gateway's Deployment never followed revision %s: %s", c.Name, revision, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
