package e2e

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// meshSpec is what a test asks the MultiClusterMesh for.
type meshSpec struct {
	meshID          string // default mesh1
	kubeconfig      string
	clusters        []clusterSpec
	chartDirectory  string
	chartRepository string
	helloWorld      bool
	keyType         string
	readerTokenMode string
	readerTokenTTL  int // readerTokenTtlHours
	revision        string
	// revisions, when set, replace istioVersion; defaultRevision names one.
	revisions       []revisionSpec
	defaultRevision string
	timeoutSeconds  int
	verify          *bool // default: the component's (true)
	remoteSecrets   string
	restartIstiod   string // restartIstiodAfterSecretRotation
	dataplane       string // default: the component's (sidecar)
	istioVersion    string // default 1.28.1
	// certificate replaces the default certificate input (ECDSA, sanSuffix).
	certificate pulumi.Map
}

type revisionSpec struct{ name, version string }

type clusterSpec struct {
	name, context, version string
	gatewayAddress         string
	remoteAPIServer        string
	kubeconfigFile         string // overrides meshSpec.kubeconfig
}

// meshResource is the component as an inline program sees it.
type meshResource struct {
	pulumi.ResourceState
	RootCertPEM        pulumi.StringOutput       `pulumi:"rootCertPem"`
	RootKeyPEM         pulumi.StringOutput       `pulumi:"rootKeyPem"`
	GatewayAddresses   pulumi.StringMapOutput    `pulumi:"gatewayAddresses"`
	Networks           pulumi.StringMapOutput    `pulumi:"networks"`
	MeshStatus         pulumi.StringMapMapOutput `pulumi:"meshStatus"`
	IntermediateExpiry pulumi.StringMapOutput    `pulumi:"intermediateExpiry"`
}

// meshProgram is an inline Pulumi program: the same registration a generated
// SDK makes, without needing a language host.
func meshProgram(spec meshSpec) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		clusters := pulumi.Array{}
		for _, c := range spec.clusters {
			file := spec.kubeconfig
			if c.kubeconfigFile != "" {
				file = c.kubeconfigFile
			}
			m := pulumi.Map{"name": pulumi.String(c.name), "kubeconfigFile": pulumi.String(file)}
			if c.context != "" {
				m["context"] = pulumi.String(c.context)
			}
			if c.version != "" {
				m["istioVersion"] = pulumi.String(c.version)
			}
			if c.gatewayAddress != "" {
				m["gatewayAddress"] = pulumi.String(c.gatewayAddress)
			}
			if c.remoteAPIServer != "" {
				m["remoteApiServer"] = pulumi.String(c.remoteAPIServer)
			}
			clusters = append(clusters, m)
		}
		meshID := spec.meshID
		if meshID == "" {
			meshID = "mesh1"
		}
		args := pulumi.Map{
			"meshId":            pulumi.String(meshID),
			"clusters":          clusters,
			"installHelloWorld": pulumi.Bool(spec.helloWorld),
			"istioVersion":      pulumi.String("1.28.1"),
		}
		if spec.chartDirectory != "" {
			args["chartDirectory"] = pulumi.String(spec.chartDirectory)
		}
		if spec.chartRepository != "" {
			args["chartRepository"] = pulumi.String(spec.chartRepository)
		}
		if spec.readerTokenMode != "" {
			args["readerTokenMode"] = pulumi.String(spec.readerTokenMode)
		}
		if spec.readerTokenTTL != 0 {
			args["readerTokenTtlHours"] = pulumi.Int(spec.readerTokenTTL)
		}
		if spec.revision != "" {
			args["revision"] = pulumi.String(spec.revision)
		}
		if len(spec.revisions) > 0 {
			delete(args, "istioVersion")
			revs := pulumi.Array{}
			for _, r := range spec.revisions {
				revs = append(revs, pulumi.Map{"name": pulumi.String(r.name), "istioVersion": pulumi.String(r.version)})
			}
			args["revisions"] = revs
			args["defaultRevision"] = pulumi.String(spec.defaultRevision)
		}
		if spec.remoteSecrets != "" {
			args["remoteSecrets"] = pulumi.String(spec.remoteSecrets)
		}
		if spec.restartIstiod != "" {
			args["restartIstiodAfterSecretRotation"] = pulumi.String(spec.restartIstiod)
		}
		if spec.dataplane != "" {
			args["dataplane"] = pulumi.String(spec.dataplane)
		}
		if spec.istioVersion != "" && len(spec.revisions) == 0 {
			args["istioVersion"] = pulumi.String(spec.istioVersion)
		}
		if spec.verify != nil {
			args["verify"] = pulumi.Bool(*spec.verify)
		}
		if spec.timeoutSeconds != 0 {
			args["timeoutSeconds"] = pulumi.Int(spec.timeoutSeconds)
		}
		keyType := spec.keyType
		if keyType == "" {
			keyType = "ECDSA" // fast; RSA is covered by its own test
		}
		args["certificate"] = pulumi.Map{"keyType": pulumi.String(keyType), "sanSuffix": pulumi.String("mesh1.example")}
		if spec.certificate != nil {
			args["certificate"] = spec.certificate
		}
		var mesh meshResource
		if err := ctx.RegisterRemoteComponentResource("ristio:index:MultiClusterMesh", "mesh", args, &mesh); err != nil {
			return err
		}
		ctx.Export("gatewayAddresses", mesh.GatewayAddresses)
		ctx.Export("networks", mesh.Networks)
		ctx.Export("meshStatus", mesh.MeshStatus)
		ctx.Export("rootCertPem", mesh.RootCertPEM)
		ctx.Export("rootKeyPem", mesh.RootKeyPEM)
		ctx.Export("intermediateExpiry", mesh.IntermediateExpiry)
		return nil
	}
}
