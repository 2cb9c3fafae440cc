package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestKubeconfigUnknownAtPreview: a kubeconfig that comes from another
// resource (as a cloud cluster's does) is unknown during preview. Preview
// must still succeed and show the mesh's children; up then uses the value.
func TestKubeconfigUnknownAtPreview(t *testing.T) {
	t.Parallel()
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

// clusterOutputsProgram is a YAML program, as a user writes one, whose
// cluster1 takes remoteApiServer and gatewayAddress from another resource's
// output: the seed RootCA's certPem, unknown until the seed is created,
// split off so that only the configured value is left.
const clusterOutputsProgram = `name: ristio-cluster-outputs
runtime: yaml
config:
  kubeconfigPath: {type: string}
  chartDirectory: {type: string}
  server1: {type: string}
  gateway1: {type: string}
resources:
  seed:
    type: ristio:RootCA
    properties:
      keyType: ECDSA
  mesh:
    type: ristio:MultiClusterMesh
    properties:
      meshId: usmesh
      chartDirectory: ${chartDirectory}
      certificate: {keyType: ECDSA}
      clusters:
        - name: cluster1
          kubeconfigFile: ${kubeconfigPath}
          context: cluster1
          remoteApiServer:
            fn::select: [0, {fn::split: [" ", "${server1} ${seed.certPem}"]}]
          gatewayAddress:
            fn::select: [0, {fn::split: [" ", "${gateway1} ${seed.certPem}"]}]
        - name: cluster2
          kubeconfigFile: ${kubeconfigPath}
          context: cluster2
outputs:
  gatewayAddresses: ${mesh.gatewayAddresses}
  meshStatus: ${mesh.meshStatus}
`

// TestClusterInputsUnknownAtPreview: a cluster's remoteApiServer and
// gatewayAddress that come from another resource (a cloud cluster's
// endpoint, a static IP) preview while unknown, and up uses their values:
// cluster2's remote secret for cluster1 names that server, and cluster2's
// istiod knows cluster1's gateway at that address (the mesh check says
// synced both ways). A second preview shows nothing.
func TestClusterInputsUnknownAtPreview(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(clusterOutputsProgram), 0o600); err != nil {
		t.Fatal(err)
	}
	stack := pulumitest.LocalStack(t, dir)
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	// Another name for cluster1's API server, so the secret shows which was used.
	server := strings.Replace(w.Cluster("cluster1").Server, "127.0.0.1", "localhost", 1)
	const gateway = "127.0.1.250"
	config := auto.ConfigMap{
		"kubeconfigPath": {Value: w.Kubeconfig}, "chartDirectory": {Value: testcharts.Directory(t)},
		"server1": {Value: server}, "gateway1": {Value: gateway},
	}
	if err := stack.SetAllConfig(ctx, config); err != nil {
		t.Fatal(err)
	}

	pre := pulumitest.Changes(pulumitest.Preview(t, stack))
	// stack, seed, component, root CA, and per cluster CA, cacerts, control
	// plane, gateway and check (2×5), and the two remote secrets.
	if pre["create"] != 16 {
		t.Errorf("preview with unknown cluster inputs: %v, want 16 creates", pre)
	}
	start := time.Now()
	res := pulumitest.Up(t, stack)
	t.Logf("up of 2 clusters: %s", time.Since(start).Round(100*time.Millisecond))
	addresses, _ := res.Outputs["gatewayAddresses"].Value.(map[string]any)
	if addresses["cluster1"] != gateway {
		t.Errorf("gatewayAddresses = %v, want cluster1 at %s", addresses, gateway)
	}
	assertMeshStatus(t, res.Outputs, []string{"cluster1", "cluster2"})
	if got := remoteServer(t, w.Cluster("cluster2"), "cluster1"); got != server {
		t.Errorf("cluster2's remote secret for cluster1 names %s, want %s", got, server)
	}
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Errorf("a preview after up shows changes: %v", got)
	}
}
