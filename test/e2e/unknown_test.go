package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestKubeconfigUnknownAtPreview: a kubeconfig that comes from another
// resource (as a cloud cluster's does) is unknown during preview. Preview
// must still succeed and show the mesh's children; up then uses the value.
func TestKubeconfigUnknownAtPreview(t *testing.T) {
	w := world(t, 1)
	kubeconfig, err := os.ReadFile(w.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	charts := testcharts.Directory(t)
	program := func(ctx *pulumi.Context) error {
		// Any resource's output is unknown until it is created; a RootCA's is handy.
		var seed struct {
			pulumi.CustomResourceState
			CertPEM pulumi.StringOutput `pulumi:"certPem"`
		}
		if err := ctx.RegisterResource("ristio:index:RootCA", "seed", pulumi.Map{"keyType": pulumi.String("ECDSA")}, &seed); err != nil {
			return err
		}
		contents := seed.CertPEM.ApplyT(func(string) string { return string(kubeconfig) }).(pulumi.StringOutput)
		var mesh meshResource
		if err := ctx.RegisterRemoteComponentResource("ristio:index:MultiClusterMesh", "mesh", pulumi.Map{
			"meshId":         pulumi.String("usmesh"),
			"chartDirectory": pulumi.String(charts),
			"certificate":    pulumi.Map{"keyType": pulumi.String("ECDSA")},
			"clusters": pulumi.Array{pulumi.Map{
				"name": pulumi.String("cluster1"), "context": pulumi.String("cluster1"), "kubeconfig": pulumi.ToSecret(contents),
			}},
		}, &mesh); err != nil {
			return err
		}
		ctx.Export("gatewayAddresses", mesh.GatewayAddresses)
		return nil
	}
	stack := pulumitest.InlineStack(t, "ristio-unknown", program)
	t.Cleanup(func() { _, _ = stack.Destroy(context.Background()) })

	pre := pulumitest.Changes(pulumitest.Preview(t, stack))
	// stack, seed, component, root CA, CA, cacerts, control plane, gateway,
	// and the mesh check (with no peer, it checks istiod serves from cacerts).
	if pre["create"] != 9 {
		t.Fatalf("preview with an unknown kubeconfig: %v, want 9 creates", pre)
	}
	res := pulumitest.Up(t, stack)
	addresses, _ := res.Outputs["gatewayAddresses"].Value.(map[string]any)
	if addresses["cluster1"] == nil {
		t.Fatalf("gatewayAddresses = %v", addresses)
	}
	assertInstalled(t, w.Cluster("cluster1"), "cluster1", "network-cluster1", nil)
}
