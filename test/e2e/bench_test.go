package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// BenchmarkMeshUp times `pulumi up` of a fresh mesh on 1, 2 and 3 clusters,
// with and without verify (destroy between iterations is not timed), and a
// preview of that mesh.
// Run: go test -run x -bench MeshUp -benchtime 2x ./test/e2e/
func BenchmarkMeshUp(b *testing.B) {
	w := localcluster.StartT(b, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.RunKubelet(ctx)
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	charts := testcharts.Directory(b)
	for n := 1; n <= 3; n++ {
		spec := meshSpec{kubeconfig: w.Kubeconfig, chartDirectory: charts}
		for _, c := range w.Clusters[:n] {
			spec.clusters = append(spec.clusters, clusterSpec{name: c.Name, context: c.Name})
		}
		// verify=false is the same up without the MeshCheck wait: the
		// difference is what proving the mesh with istiod costs.
		for _, verify := range []bool{true, false} {
			spec := spec
			spec.verify = &verify
			b.Run(fmt.Sprintf("clusters=%d/verify=%t", n, verify), func(b *testing.B) {
				stack := pulumitest.InlineStack(b, "ristio-bench", meshProgram(spec))
				for i := 0; i < b.N; i++ {
					pulumitest.Up(b, stack)
					b.StopTimer()
					if _, err := stack.Destroy(context.Background()); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
		b.Run(fmt.Sprintf("preview/clusters=%d", n), func(b *testing.B) {
			stack := pulumitest.InlineStack(b, "ristio-bench-preview", meshProgram(spec))
			for i := 0; i < b.N; i++ {
				pulumitest.Preview(b, stack)
			}
		})
	}
}
