// Package e2e drives the real Pulumi CLI, through the Automation API with
// inline programs, against real local API servers.
package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// world starts n clusters with the kubelet and load-balancer emulators running.
func world(t *testing.T, n int) *localcluster.World {
	t.Helper()
	w := localcluster.StartT(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w.RunKubelet(ctx)
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	return w
}

func clustersOf(w *localcluster.World, n int) []clusterSpec {
	var out []clusterSpec
	for _, c := range w.Clusters[:n] {
		out = append(out, clusterSpec{name: c.Name, context: c.Name})
	}
	return out
}

func names(cs []clusterSpec) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}

func peersOf(all []string, self string) []string {
	var out []string
	for _, n := range all {
		if n != self {
			out = append(out, n)
		}
	}
	return out
}

// setProgram swaps the inline program of an existing stack.
func setProgram(t testing.TB, stack *auto.Stack, spec meshSpec) {
	t.Helper()
	ws := stack.Workspace().(*auto.LocalWorkspace)
	ws.SetProgram(meshProgram(spec))
}

func assertMesh(t *testing.T, w *localcluster.World, cs []clusterSpec, outputs auto.OutputMap) {
	t.Helper()
	all := names(cs)
	addresses, _ := outputs["gatewayAddresses"].Value.(map[string]any)
	for _, c := range cs {
		cluster := w.Cluster(c.name)
		assertInstalled(t, cluster, c.name, "network-"+c.name, peersOf(all, c.name))
		if a, _ := addresses[c.name].(string); a == "" {
			t.Errorf("gatewayAddresses lacks %s: %v", c.name, addresses)
		}
		for _, peer := range peersOf(all, c.name) {
			assertRemoteSecretWorks(t, cluster, w.Cluster(peer), peer)
		}
	}
	if len(addresses) != len(cs) {
		t.Errorf("gatewayAddresses = %v, want %d clusters", addresses, len(cs))
	}
	if !outputs["rootKeyPem"].Secret {
		t.Errorf("rootKeyPem output is not secret")
	}
	// istiod itself, run against what ristio made, is the judge: the
	// product's own verdict, then an independent look at what it serves.
	assertMeshStatus(t, outputs, all)
	assertServedCertsChain(t, w, all)
}

// TestMeshLifecycle walks one stack through the life of a mesh: 2 clusters,
// an upgrade, a third cluster joining and leaving, drift, and destroy.
func TestMeshLifecycle(t *testing.T) {
	t.Parallel()
	w := world(t, 3)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t), helloWorld: true}
	stack := pulumitest.InlineStack(t, "ristio-e2e", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })

	start := time.Now()
	res := pulumitest.Up(t, stack)
	t.Logf("up with 2 clusters: %s", time.Since(start).Round(time.Millisecond))
	assertMesh(t, w, spec.clusters, res.Outputs)
	for _, c := range spec.clusters {
		dep, err := w.Cluster(c.name).Client.AppsV1().Deployments("sample").List(ctx, metav1.ListOptions{})
		if err != nil || len(dep.Items) != 2 {
			t.Errorf("%s: sample deployments %v (%v)", c.name, dep, err)
		}
	}
	if _, err := w.Cluster("cluster2").Client.AppsV1().Deployments("sample").Get(ctx, "helloworld-v2", metav1.GetOptions{}); err != nil {
		t.Errorf("cluster2 should run helloworld-v2: %v", err)
	}

	t.Run("second preview shows no changes", func(t *testing.T) {
		if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
			t.Fatalf("preview after up: %v, want no changes", got)
		}
	})

	t.Run("a version bump updates that cluster only", func(t *testing.T) {
		spec.clusters[1].version = "1.28.2"
		setProgram(t, &stack, spec)
		pre := previewSteps(t, stack)
		want := map[string]string{"mesh-cluster2-istio": "update", "mesh-cluster2-eastwest": "update"}
		if !equalSteps(pre, want) {
			t.Fatalf("preview steps %v, want %v", pre, want)
		}
		pulumitest.Up(t, stack)
		if rev := releaseRevision(t, w.Cluster("cluster2"), "istiod"); rev != 2 {
			t.Errorf("cluster2 istiod revision %d, want 2", rev)
		}
		if rev := releaseRevision(t, w.Cluster("cluster1"), "istiod"); rev != 1 {
			t.Errorf("cluster1 istiod revision %d, want 1 (untouched)", rev)
		}
		if rev := releaseRevision(t, w.Cluster("cluster2"), "istio-eastwestgateway"); rev != 2 {
			t.Errorf("cluster2 gateway revision %d, want 2", rev)
		}
		if rev := releaseRevision(t, w.Cluster("cluster1"), "istio-eastwestgateway"); rev != 1 {
			t.Errorf("cluster1 gateway revision %d, want 1 (untouched)", rev)
		}
	})

	t.Run("a third cluster joins and leaves", func(t *testing.T) {
		spec.clusters = append(spec.clusters, clusterSpec{name: "cluster3", context: "cluster3"})
		setProgram(t, &stack, spec)
		pre := pulumitest.Changes(pulumitest.Preview(t, stack))
		// CA, cacerts, control plane, gateway, sample, 4 remote secrets and
		// its mesh check, which checks both ways with the two others: no
		// other resource changes.
		if pre["create"] != 10 || len(pre) != 1 {
			t.Fatalf("adding a cluster previews %v, want 10 creates and nothing else", pre)
		}
		start := time.Now()
		res := pulumitest.Up(t, stack)
		t.Logf("adding a third cluster: %s", time.Since(start).Round(time.Millisecond))
		assertMesh(t, w, spec.clusters, res.Outputs)

		// cluster1's reader token, as cluster3's istiod holds it: removing
		// cluster3 revokes it in cluster1 (its binding goes with the pair).
		heldByCluster3 := remoteToken(t, w.Cluster("cluster3"), "cluster1")
		spec.clusters = spec.clusters[:2]
		setProgram(t, &stack, spec)
		pulumitest.Up(t, stack)
		meshassert.TokenRevoked(t, w.Cluster("cluster1"), heldByCluster3)
		for _, c := range spec.clusters {
			if got := remoteSecretNames(t, w.Cluster(c.name)); !slices.Equal(got, peersOf(names(spec.clusters), c.name)) {
				t.Errorf("%s keeps remote secrets for %v after cluster3 left", c.name, got)
			}
		}
		meshassert.NothingLeft(t, w.Cluster("cluster3"))
	})

	t.Run("refresh finds drift and up repairs it", func(t *testing.T) {
		c1 := w.Cluster("cluster1")
		if err := c1.Client.CoreV1().Secrets(istioNS).Delete(ctx, "istio-remote-secret-cluster2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		cacerts, err := c1.Client.CoreV1().Secrets(istioNS).Get(ctx, "cacerts", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cacerts.Data["root-cert.pem"] = []byte("tampered")
		if _, err := c1.Client.CoreV1().Secrets(istioNS).Update(ctx, cacerts, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitClusterz(t, c1, "dropped cluster2", func(m map[string]string) bool { _, ok := m["cluster2"]; return !ok })
		if _, err := stack.Refresh(ctx); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		// The secret and cacerts are repaired. The pair's check asks again,
		// since cluster1's istiod lost cluster2. cluster1's own check does
		// not: it never reads cacerts (its key signs every workload), and
		// istiod, unable to load the tampered file, still distributes the
		// roots ristio wrote; CACerts' refresh is what finds the edit.
		want := map[string]string{
			"mesh-cluster2-to-cluster1": "update", "mesh-cluster1-cacerts": "update",
			"mesh-cluster2-check": "update",
		}
		if pre := previewSteps(t, stack); !equalSteps(pre, want) {
			t.Fatalf("preview after drift: %v, want %v", pre, want)
		}
		res := pulumitest.Up(t, stack)
		assertInstalled(t, c1, "cluster1", "network-cluster1", []string{"cluster2"})
		assertRemoteSecretWorks(t, c1, w.Cluster("cluster2"), "cluster2")
		assertMeshStatus(t, res.Outputs, names(spec.clusters))
		if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
			t.Fatalf("preview after repair: %v", got)
		}
	})

	t.Run("destroy leaves nothing", func(t *testing.T) {
		start := time.Now()
		if _, err := stack.Destroy(ctx); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		t.Logf("destroy with 2 clusters: %s", time.Since(start).Round(time.Millisecond))
		for _, c := range w.Clusters {
			meshassert.NothingLeft(t, c)
		}
	})
}

// previewSteps returns each resource's planned operation, by resource name;
// the steps of a replacement count as one "replace".
func previewSteps(t *testing.T, stack auto.Stack) map[string]string {
	t.Helper()
	ch := make(chan events.EngineEvent, 1024)
	steps := map[string]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResourcePreEvent == nil {
				continue
			}
			m := e.ResourcePreEvent.Metadata
			if m.Op == apitype.OpSame || m.Op == apitype.OpRead {
				continue
			}
			op := string(m.Op)
			switch m.Op { // a replacement is several steps of one resource
			case apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpReplace:
				op = "replace"
			}
			steps[m.URN[strings.LastIndex(m.URN, "::")+2:]] = op
		}
	}()
	pulumitest.Preview(t, stack, optpreview.EventStreams(ch))
	<-done
	return steps
}

func equalSteps(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func releaseRevision(t *testing.T, c *localcluster.Cluster, release string) int {
	t.Helper()
	list, err := c.Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,status=deployed,name=" + release})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("%s: deployed release %s: %d found (%v)", c.Name, release, len(list.Items), err)
	}
	var rev int
	if _, err := fmt.Sscan(list.Items[0].Labels["version"], &rev); err != nil {
		t.Fatalf("%s: release %s has version label %q: %v", c.Name, release, list.Items[0].Labels["version"], err)
	}
	return rev
}
