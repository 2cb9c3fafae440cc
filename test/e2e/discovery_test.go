package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestDiscoveryAfterSecretRewrite: the world's istiod comes from a pinned
// Istio build that predates istio/istio#61043's fix and reports no release.
// Rewriting a remote secret in place (here: a new remoteApiServer for
// cluster2, so the secrets for cluster2 in cluster1 and cluster3 change)
// makes that istiod drop cluster2's endpoints while /debug/clusterz says
// synced. With restarts off the mesh check must catch it and name the pair;
// with auto, ristio restarts istiod in exactly the clusters whose secrets
// changed and the check proves discovery again. (No Envoy runs here: what
// is proven is what istiod holds, not traffic.)
func TestDiscoveryAfterSecretRewrite(t *testing.T) {
	t.Parallel()
	w := world(t, 3)
	cs := clustersOf(w, 3)
	all := names(cs)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: cs, chartDirectory: testcharts.Directory(t), helloWorld: true, restartIstiod: "never", timeoutSeconds: 100}
	stack := pulumitest.InlineStack(t, "ristio-discovery", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })

	start := time.Now()
	res := pulumitest.Up(t, stack)
	t.Logf("up of 3 clusters with the discovery check: %s", time.Since(start).Round(100*time.Millisecond))
	assertMeshStatus(t, res.Outputs, all)
	// The sample's pods are bound and discovered as in a real cluster: each
	// istiod holds helloworld's endpoints from every peer.
	for _, c := range all {
		for _, peer := range peersOf(all, c) {
			if !eventuallyHolds(t, w.Cluster(c), "helloworld.sample", peer) {
				t.Errorf("%s: istiod holds no helloworld endpoint from %s after up", c, peer)
			}
		}
	}
	before := map[string][]string{}
	for _, c := range all {
		before[c] = istiodPods(t, w.Cluster(c))
	}
	oldToken := remoteToken(t, w.Cluster("cluster1"), "cluster2")

	// Restarts off: preview warns, up fails on the pairs with cluster2.
	moved := spec
	moved.clusters = slices.Clone(cs)
	moved.clusters[1].remoteAPIServer = strings.Replace(w.Cluster("cluster2").Server, "127.0.0.1", "localhost", 1)
	setProgram(t, &stack, moved)
	preview := previewText(t, stack)
	for _, c := range []string{"cluster1", "cluster3"} {
		if !strings.Contains(preview, c+": istiod will not be restarted after its remote secrets are rewritten") {
			t.Errorf("preview does not warn that %s's istiod will not be restarted:\n%s", c, preview)
		}
	}
	if strings.Contains(preview, "cluster2: istiod will") {
		t.Errorf("preview speaks of cluster2's istiod, whose secrets do not change:\n%s", preview)
	}
	start = time.Now()
	_, err := stack.Up(ctx)
	t.Logf("failing up with restarts off: %s", time.Since(start).Round(100*time.Millisecond))
	if err == nil {
		t.Fatal("up passed although istiod lost cluster2's endpoints (restartIstiodAfterSecretRotation: never)")
	}
	for _, want := range []string{"lists cluster2 as synced but holds none of its endpoints", "istio/istio#61043", "restarting istiod restores them"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("up's error lacks %q:\n%v", want, err)
		}
	}
	for _, c := range all {
		if got := istiodPods(t, w.Cluster(c)); !slices.Equal(got, before[c]) {
			t.Errorf("%s: istiod restarted with restarts off: %v, was %v", c, got, before[c])
		}
	}
	// The rewrite renewed cluster2's reader tokens: the old one is revoked.
	if remoteToken(t, w.Cluster("cluster1"), "cluster2") == oldToken {
		t.Error("cluster1's secret for cluster2 still carries the old token")
	}
	meshassert.TokenRevoked(t, w.Cluster("cluster2"), oldToken)
	if holdsEndpoints(t, w.Cluster("cluster1"), "helloworld.sample", "cluster2") {
		t.Error("cluster1's istiod still holds cluster2's endpoints: the pinned istiod no longer shows istio/istio#61043, so this test proves nothing")
	}
	// refresh asks again: the checks of the broken pairs change.
	ref, err := stack.Refresh(ctx)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if n := (*ref.Summary.ResourceChanges)["update"]; n == 0 {
		t.Errorf("refresh found no change although pairs lost discovery: %v", *ref.Summary.ResourceChanges)
	}

	// auto: the same rewrite (back to the kubeconfig's server) restarts
	// istiod in cluster1 and cluster3, not in cluster2, and discovery holds.
	restarting := spec
	restarting.restartIstiod = "auto"
	setProgram(t, &stack, restarting)
	preview = previewText(t, stack)
	if !strings.Contains(preview, "cluster1: istiod will be restarted after its remote secrets are rewritten (istiod reports no Istio release") {
		t.Errorf("preview does not say cluster1's istiod will be restarted:\n%s", preview)
	}
	start = time.Now()
	res = pulumitest.Up(t, stack)
	t.Logf("up that rewrites 2 secrets and restarts 2 istiods: %s", time.Since(start).Round(100*time.Millisecond))
	assertMeshStatus(t, res.Outputs, all)
	for _, c := range all {
		got := istiodPods(t, w.Cluster(c))
		restarted := !slices.Equal(got, before[c])
		if want := c != "cluster2"; restarted != want {
			t.Errorf("%s: istiod restarted = %v, want %v (pods %v, were %v)", c, restarted, want, got, before[c])
		}
		for _, peer := range peersOf(all, c) {
			if !eventuallyHolds(t, w.Cluster(c), "helloworld.sample", peer) {
				t.Errorf("%s: istiod holds no helloworld endpoint from %s after the restart", c, peer)
			}
		}
	}
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Errorf("a preview after up shows changes: %v", got)
	}
}

// remoteToken is the reader token of peer in into's remote secret for it.
func remoteToken(t *testing.T, into *localcluster.Cluster, peer string) string {
	t.Helper()
	s, err := into.Client.CoreV1().Secrets(istioNS).Get(context.Background(), "istio-remote-secret-"+peer, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(s.Data[peer])
	if err != nil || cfg.AuthInfos[peer] == nil {
		t.Fatalf("%s: remote kubeconfig for %s: %v", into.Name, peer, err)
	}
	return cfg.AuthInfos[peer].Token
}

// previewText runs a preview and returns what it printed.
func previewText(t *testing.T, stack auto.Stack) string {
	t.Helper()
	var out strings.Builder
	if _, err := stack.Preview(context.Background(), optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out)); err != nil {
		t.Fatalf("pulumi preview: %v\n%s", err, out.String())
	}
	return out.String()
}

// eventuallyHolds is holdsEndpoints within 30 s: the sample is deployed
// beside the checks, not before them.
func eventuallyHolds(t *testing.T, c *localcluster.Cluster, service, peer string) bool {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		if holdsEndpoints(t, c, service, peer) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// holdsEndpoints asks every istiod of c whether /debug/endpointShardz has an
// endpoint of service ("name.namespace") from cluster peer.
func holdsEndpoints(t *testing.T, c *localcluster.Cluster, service, peer string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := istiodClient(t, c)
	for _, pod := range istiodPods(t, c) {
		body, err := client.PodGet(ctx, istioNS, pod, 15014, "/debug/endpointShardz")
		if err != nil {
			t.Fatalf("%s: %s /debug/endpointShardz: %v", c.Name, pod, err)
		}
		var shardz map[string]map[string]struct{ Shards map[string][]json.RawMessage }
		if err := json.Unmarshal(body, &shardz); err != nil {
			t.Fatalf("%s: /debug/endpointShardz: %v", c.Name, err)
		}
		_, ns, _ := strings.Cut(service, ".")
		found := false
		for host, byNS := range shardz {
			if strings.HasPrefix(host, service+".svc.") && len(byNS[ns].Shards["Kubernetes/"+peer]) > 0 {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
