package e2e

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestRemoteSecretsPerCluster moves a working 2-cluster mesh from one
// RemoteSecret per pair to one RemoteSecretSet per cluster and back, and
// grows it in between: istio's own istiod must stay synced, the secrets in
// the clusters are rewritten in place (never deleted, so istiod sees an
// update, not a peer leaving), and adding a cluster changes only the sets
// that gain it.
func TestRemoteSecretsPerCluster(t *testing.T) {
	t.Parallel()
	w := world(t, 3)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t)}
	stack := pulumitest.InlineStack(t, "ristio-secret-sets", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	pulumitest.Up(t, stack)
	before := remoteSecretUIDs(t, w, spec.clusters)

	step(t, "perPair to perCluster rewrites the secrets in place", func(t *testing.T) {
		spec.remoteSecrets = "perCluster"
		setProgram(t, &stack, spec)
		want := map[string]string{
			"mesh-cluster1-remote-secrets": "create", "mesh-cluster2-remote-secrets": "create",
			"mesh-cluster1-to-cluster2": "delete", "mesh-cluster2-to-cluster1": "delete",
			// The pair's secrets are rewritten: its check runs again.
			"mesh-cluster2-check": "update",
		}
		if got := previewSteps(t, stack); !equalSteps(got, want) {
			t.Fatalf("preview of the switch: %v, want %v", got, want)
		}
		res := pulumitest.Up(t, stack)
		assertMesh(t, w, spec.clusters, res.Outputs)
		if after := remoteSecretUIDs(t, w, spec.clusters); !maps.Equal(after, before) {
			t.Errorf("remote secrets were recreated by the switch: UIDs %v, were %v", after, before)
		}
		assertOwnedBy(t, w, spec.clusters, "-remote-secrets-")
		wantNoChanges(t, stack)
	})

	step(t, "a third cluster changes only the two sets that gain it", func(t *testing.T) {
		spec.clusters = clustersOf(w, 3)
		setProgram(t, &stack, spec)
		want := map[string]string{
			"mesh-cluster1-remote-secrets": "update", "mesh-cluster2-remote-secrets": "update",
		}
		for _, child := range []string{"ca", "cacerts", "istio", "eastwest", "remote-secrets", "check"} {
			want["mesh-cluster3-"+child] = "create"
		}
		if got := previewSteps(t, stack); !equalSteps(got, want) {
			t.Fatalf("preview adding cluster3: %v, want %v", got, want)
		}
		res := pulumitest.Up(t, stack)
		assertMesh(t, w, spec.clusters, res.Outputs)
		assertMeshStatus(t, res.Outputs, names(spec.clusters))
		wantNoChanges(t, stack)
	})

	step(t, "perCluster back to perPair rewrites the secrets in place", func(t *testing.T) {
		before := remoteSecretUIDs(t, w, spec.clusters)
		spec.remoteSecrets = ""
		setProgram(t, &stack, spec)
		res := pulumitest.Up(t, stack)
		assertMeshStatus(t, res.Outputs, names(spec.clusters))
		if after := remoteSecretUIDs(t, w, spec.clusters); !maps.Equal(after, before) {
			t.Errorf("remote secrets were recreated by the switch back: UIDs %v, were %v", after, before)
		}
		assertOwnedBy(t, w, spec.clusters, "-to-")
		wantNoChanges(t, stack)
	})

	step(t, "destroy leaves nothing", func(t *testing.T) {
		if _, err := stack.Destroy(ctx); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		for _, c := range w.Clusters {
			meshassert.NothingLeft(t, c)
		}
	})
}

// step runs one scenario; they build on each other, so the first failure
// ends the test.
func step(t *testing.T, scenario string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(scenario, f) {
		t.FailNow()
	}
}

// wantNoChanges fails unless a preview of the stack changes nothing.
func wantNoChanges(t *testing.T, stack auto.Stack) {
	t.Helper()
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Fatalf("a second preview shows %v, want no changes", got)
	}
}

// remoteSecretUIDs is "<cluster>/<secret>" → UID of every remote secret in
// the clusters.
func remoteSecretUIDs(t *testing.T, w *localcluster.World, cs []clusterSpec) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	for _, c := range cs {
		list, err := w.Cluster(c.name).Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "istio/multiCluster=true"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			out[c.name+"/"+s.Name] = s.UID
		}
	}
	return out
}

// assertOwnedBy checks that every remote secret was last written by a
// resource whose ID contains kind ("-remote-secrets-" for a set, "-to-" for
// a pair's RemoteSecret).
func assertOwnedBy(t *testing.T, w *localcluster.World, cs []clusterSpec, kind string) {
	t.Helper()
	for _, c := range cs {
		list, err := w.Cluster(c.name).Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "istio/multiCluster=true"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			if owner := s.Annotations[naming.OwnerAnnotation]; !strings.Contains(owner, kind) {
				t.Errorf("%s/%s is owned by %q, want a resource named *%s*", c.name, s.Name, owner, kind)
			}
		}
	}
}
