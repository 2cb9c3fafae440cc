// Package mesh declares usmesh over cluster1 and cluster2 from stack
// configuration:
//
//   - kubeconfigPath (required): the kubeconfig file holding both contexts;
//   - context1, context2: each cluster's context (default: its name);
//   - istioVersion1, istioVersion2: each cluster's Istio release;
//   - chartDirectory or chartRepository: where Istio's charts come from.
package mesh

import (
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/ristio/pulumi-ristio/sdk/go/ristio"
)

var clusterNames = []string{"cluster1", "cluster2"}

// Program declares the mesh and exports its gateway addresses, networks and
// what each cluster's istiod says of its peers.
func Program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	kubeconfigPath := cfg.Require("kubeconfigPath")

	clusters := ristio.MeshClusterArray{}
	for i, name := range clusterNames {
		n := strconv.Itoa(i + 1)
		context := cfg.Get("context" + n)
		if context == "" {
			context = name
		}
		cluster := ristio.MeshClusterArgs{
			Name:           name,
			KubeconfigFile: pulumi.StringRef(kubeconfigPath),
			Context:        pulumi.StringRef(context),
		}
		if v := cfg.Get("istioVersion" + n); v != "" {
			cluster.IstioVersion = pulumi.StringRef(v)
		}
		clusters = append(clusters, cluster)
	}

	mesh, err := ristio.NewMultiClusterMesh(ctx, "mesh", &ristio.MultiClusterMeshArgs{
		MeshId:            "usmesh",
		Certificate:       &ristio.MeshCertificateArgs{ValidityHours: pulumi.IntRef(87600), SanSuffix: pulumi.StringRef("istio.io")},
		InstallHelloWorld: pulumi.BoolRef(true),
		ChartDirectory:    optional(cfg.Get("chartDirectory")),
		ChartRepository:   optional(cfg.Get("chartRepository")),
		Clusters:          clusters,
	})
	if err != nil {
		return err
	}
	ctx.Export("gatewayAddresses", mesh.GatewayAddresses)
	ctx.Export("networks", mesh.Networks)
	ctx.Export("meshStatus", mesh.MeshStatus)
	return nil
}

// optional turns an unset (empty) configuration value into nil.
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}
