package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestRenameCluster: renaming a cluster creates the new name's resources
// before deleting the old name's, and both write the same objects. The old
// resources must not delete what the new ones now own.
func TestRenameCluster(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t), helloWorld: true}
	stack := pulumitest.InlineStack(t, "ristio-rename", meshProgram(spec))
	t.Cleanup(func() { _, _ = stack.Destroy(context.Background()) })
	pulumitest.Up(t, stack)

	spec.clusters[1].name = "east" // same context, new mesh name
	setProgram(t, &stack, spec)
	res := pulumitest.Up(t, stack)

	c2 := w.Cluster("cluster2")
	assertInstalled(t, c2, "east", "network-east", []string{"cluster1"})
	assertInstalled(t, w.Cluster("cluster1"), "cluster1", "network-cluster1", []string{"east"})
	assertRemoteSecretWorks(t, w.Cluster("cluster1"), c2, "east")
	if _, err := c2.Client.AppsV1().Deployments("sample").Get(context.Background(), "helloworld-v2", metav1.GetOptions{}); err != nil {
		t.Errorf("the renamed cluster lost its sample: %v", err)
	}
	addresses, _ := res.Outputs["gatewayAddresses"].Value.(map[string]any)
	if _, ok := addresses["east"]; !ok || len(addresses) != 2 {
		t.Errorf("gatewayAddresses after rename: %v", addresses)
	}
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Fatalf("preview after rename: %v", got)
	}
}
