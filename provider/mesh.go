package provider

import (
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MultiClusterMeshArgs are the component's inputs.
type MultiClusterMeshArgs struct {
	MeshID              string           `pulumi:"meshId"`
	Clusters            []MeshCluster    `pulumi:"clusters"`
	IstioVersion        *string          `pulumi:"istioVersion,optional"`
	Certificate         *MeshCertificate `pulumi:"certificate,optional"`
	ChartRepository     *string          `pulumi:"chartRepository,optional"`
	ChartDirectory      *string          `pulumi:"chartDirectory,optional"`
	InstallHelloWorld   *bool            `pulumi:"installHelloWorld,optional"`
	Revision            *string          `pulumi:"revision,optional"`
	Revisions           []MeshRevision   `pulumi:"revisions,optional"`
	DefaultRevision     *string          `pulumi:"defaultRevision,optional"`
	WaitForGateways     *bool            `pulumi:"waitForGateways,optional"`
	TimeoutSeconds      *int             `pulumi:"timeoutSeconds,optional"`
	ReaderTokenMode     *string          `pulumi:"readerTokenMode,optional"`
	ReaderTokenTTLHours *int             `pulumi:"readerTokenTtlHours,optional"`
	Verify              *bool            `pulumi:"verify,optional"`
	RemoteSecrets       *string          `pulumi:"remoteSecrets,optional"`
	RestartIstiod       *string          `pulumi:"restartIstiodAfterSecretRotation,optional"`
	Dataplane           *string          `pulumi:"dataplane,optional"`
}

// Annotate documents MultiClusterMeshArgs.
func (m *MultiClusterMeshArgs) Annotate(a infer.Annotator) {
	a.Describe(&m.MeshID, "Istio mesh ID shared by every cluster (global.meshID).")
	a.Describe(&m.Clusters, "The clusters of the mesh; at least one.")
	a.Describe(&m.IstioVersion, "Istio version for every cluster that does not set its own. Default: "+DefaultIstioVersion+".")
	a.Describe(&m.Certificate, "The mesh's root CA and per-cluster intermediates.")
	a.Describe(&m.ChartRepository, "Helm repository of Istio's charts: https:// or oci://. Default: "+defaultChartRepository+".")
	a.Describe(&m.ChartDirectory, "Local directory holding base, istiod and gateway as chart directories or .tgz files. Not with chartRepository.")
	a.Describe(&m.InstallHelloWorld, "Deploy Istio's helloworld (v1 in odd-numbered clusters, v2 in even) and curl in every cluster. Default false.")
	a.Describe(&m.Revision, "Istio revision for the control planes, gateways and sample. Not with revisions.")
	a.Describe(&m.Revisions, "Control planes of several Istio revisions side by side in every cluster, for canary upgrades: add the new revision, move defaultRevision to it, then remove the old one. An entry named \"default\" is the control plane installed without a revision (release and Deployment istiod); others are istiod-<name>. Not with revision, istioVersion or a cluster's istioVersion.")
	a.Describe(&m.DefaultRevision, "The entry of revisions the default revision tag points at: namespaces labelled istio-injection=enabled or istio.io/rev=default, the east-west gateways and the sample get its proxies. Required with revisions.")
	a.Describe(&m.WaitForGateways, "Wait for each east-west gateway's load-balancer address. Default true.")
	a.Describe(&m.TimeoutSeconds, "Upper bound of every wait, per resource. Default 600.")
	a.Describe(&m.ReaderTokenMode, "How remote secrets authenticate: tokenRequest (bounded tokens, reissued by `pulumi up` past 80% of their life; default) or serviceAccountSecret (long-lived token secret, as istioctl).")
	a.Describe(&m.ReaderTokenTTLHours, "Lifetime of tokenRequest reader tokens, in hours. Default 8760.")
	a.Describe(&m.Verify, "After the control planes, gateways and remote secrets exist, wait (within timeoutSeconds) until every cluster's istiod reports every peer synced, knows every peer's gateway and serves a certificate every peer trusts: one MeshCheck per cluster, each covering the clusters listed before it, both ways. Default true.")
	a.Describe(&m.RemoteSecrets, "How the N(N−1) remote secrets are held in the stack: perPair (one RemoteSecret per ordered pair; default) or perCluster (one RemoteSecretSet per cluster holding the secrets its istiod reads, for large meshes: N resources instead of N(N−1)). The secrets in the clusters are the same either way, and switching rewrites them in place.")
	a.Describe(&m.Dataplane, "The data plane: sidecar (Envoy sidecars, the default) or ambient (ztunnel and the istio-cni node agent, no sidecars). An ambient mesh adds per cluster the Gateway API CRDs, the cni and ztunnel releases (AmbientNodeAgents, following defaultRevision with revisions) and the east-west gateway as a Gateway API Gateway that istiod deploys; only services labelled istio.io/global=true are reachable from other clusters. Not with a cluster's adopt, gatewayAddress or gatewayValues. A live mesh cannot switch (istio/istio#61746): build a new mesh instead.")
	a.Describe(&m.RestartIstiod, restartPolicyDoc+" Default: auto. With verify, the mesh check proves after every rewrite that each istiod still holds the services and endpoints of its peers.")
}

// MeshCluster describe one cluster of the mesh.
type MeshCluster struct {
	Name              string             `pulumi:"name"`
	Kubeconfig        pulumi.StringInput `pulumi:"kubeconfig,optional" provider:"secret"`
	KubeconfigFile    *string            `pulumi:"kubeconfigFile,optional"`
	Context           *string            `pulumi:"context,optional"`
	Network           *string            `pulumi:"network,optional"`
	IstioVersion      *string            `pulumi:"istioVersion,optional"`
	RemoteAPIServer   pulumi.StringInput `pulumi:"remoteApiServer,optional"`
	GatewayAddress    pulumi.StringInput `pulumi:"gatewayAddress,optional"`
	InstallHelloWorld *bool              `pulumi:"installHelloWorld,optional"`
	IstiodValues      map[string]any     `pulumi:"istiodValues,optional"`
	GatewayValues     map[string]any     `pulumi:"gatewayValues,optional"`
	Adopt             *bool              `pulumi:"adopt,optional"`
}

// Annotate documents MeshCluster.
func (c *MeshCluster) Annotate(a infer.Annotator) {
	a.Describe(&c.Name, "The cluster's name: a DNS-1123 label, used as Istio's clusterName.")
	a.Describe(&c.Kubeconfig, "Kubeconfig contents. Give this or kubeconfigFile, or neither to use KUBECONFIG or ~/.kube/config.")
	a.Describe(&c.KubeconfigFile, "Path of a kubeconfig file.")
	a.Describe(&c.Context, "Kubeconfig context; the current context when unset.")
	a.Describe(&c.Network, "The cluster's network. Default: network-<name>.")
	a.Describe(&c.IstioVersion, "Istio version of this cluster, overriding the mesh's.")
	a.Describe(&c.RemoteAPIServer, "API-server URL the other clusters use to reach this one, written into remote secrets in place of the kubeconfig's server. May be another resource's output (a cloud cluster's endpoint): checked once known.")
	a.Describe(&c.GatewayAddress, "Fixed east-west gateway address: no wait for a load balancer, and every cluster's global.meshNetworks names it on port 15443. May be another resource's output (a static IP): checked once known.")
	a.Describe(&c.InstallHelloWorld, "Deploy the helloworld sample in this cluster, overriding the mesh's installHelloWorld.")
	a.Describe(&c.IstiodValues, "Extra Helm values for istiod, merged over ristio's.")
	a.Describe(&c.GatewayValues, "Extra Helm values for the east-west gateway, merged over ristio's.")
	a.Describe(&c.Adopt, "Take over what ristioctl, `istioctl install` and `istioctl create-remote-secret` made in this cluster instead of refusing it: a cacerts issued by the mesh root is kept as it is, the istioctl install becomes Helm releases (Helm's take-ownership; the istiod release keeps istioctl's name, istio), and the east-west gateway, cross-network-gateway and remote secrets are rewritten in place. Needs certificate.rootCertPem and rootKeyPem, the live mesh's root. Not with revision or revisions. Default false.")
}

// MeshCertificate configure the mesh's certificates.
type MeshCertificate struct {
	ValidityHours    *int               `pulumi:"validityHours,optional"`
	KeyType          *string            `pulumi:"keyType,optional"`
	RSABits          *int               `pulumi:"rsaBits,optional"`
	SanSuffix        *string            `pulumi:"sanSuffix,optional"`
	Password         pulumi.StringInput `pulumi:"password,optional" provider:"secret"`
	RootCertPEM      pulumi.StringInput `pulumi:"rootCertPem,optional" provider:"secret"`
	RootKeyPEM       pulumi.StringInput `pulumi:"rootKeyPem,optional" provider:"secret"`
	Roots            []MeshRoot         `pulumi:"roots,optional"`
	RenewBeforeHours *int               `pulumi:"renewBeforeHours,optional"`
}

// Annotate documents MeshCertificate.
func (c *MeshCertificate) Annotate(a infer.Annotator) {
	a.Describe(&c.ValidityHours, "Validity of the root and of each intermediate, in hours. Default 87600. Shorthand for roots: [{name: \"default\", validityHours}].")
	a.Describe(&c.KeyType, "RSA (default) or ECDSA. Shorthand for roots: [{name: \"default\", keyType}].")
	a.Describe(&c.RSABits, "RSA key size: 2048, 3072 or 4096 (default). Shorthand for roots: [{name: \"default\", rsaBits}].")
	a.Describe(&c.SanSuffix, "When set, each root made from now on gets SAN root.<sanSuffix> and each intermediate <cluster>.<sanSuffix>.")
	a.Describe(&c.Password, "Encrypts the exported root key (rootKeyPem output) as PKCS#8; also decrypts a supplied encrypted root key that has no password of its own.")
	a.Describe(&c.RootCertPEM, "Bring your own root: its certificate PEM. Give rootKeyPem too. Shorthand for roots: [{name: \"default\", rootCertPem, rootKeyPem}].")
	a.Describe(&c.RootKeyPEM, "Bring your own root: its key PEM, possibly encrypted with password. Give rootCertPem too.")
	a.Describe(&c.Roots, "The mesh's roots. The first signs every cluster's intermediate; every one is trusted (each cluster's root-cert.pem holds them all, signer first). Rotate a root in three `pulumi up`s: add the new one second, move it first, then (after workload certificates renewed) remove the old one. Not with the shorthand fields validityHours, keyType, rsaBits, rootCertPem, rootKeyPem.")
	a.Describe(&c.RenewBeforeHours, "Reissue a cluster's intermediate on `pulumi up` once it is this close to expiry. Default: a fifth of its lifetime.")
}

// MeshRoot is one root of the mesh: generated, or brought by the user.
type MeshRoot struct {
	Name          string             `pulumi:"name"`
	ValidityHours *int               `pulumi:"validityHours,optional"`
	KeyType       *string            `pulumi:"keyType,optional"`
	RSABits       *int               `pulumi:"rsaBits,optional"`
	RootCertPEM   pulumi.StringInput `pulumi:"rootCertPem,optional" provider:"secret"`
	RootKeyPEM    pulumi.StringInput `pulumi:"rootKeyPem,optional" provider:"secret"`
	Password      pulumi.StringInput `pulumi:"password,optional" provider:"secret"`
}

// Annotate documents MeshRoot.
func (r *MeshRoot) Annotate(a infer.Annotator) {
	a.Describe(&r.Name, "A DNS label naming the root. Keep it stable: it keys the root's resource (\"default\" is the shorthand's root).")
	a.Describe(&r.ValidityHours, "Validity of a generated root, and of the intermediates it signs, in hours. Default 87600.")
	a.Describe(&r.KeyType, "Key algorithm of a generated root and of the intermediates it signs: RSA (default) or ECDSA.")
	a.Describe(&r.RSABits, "RSA key size: 2048, 3072 or 4096 (default).")
	a.Describe(&r.RootCertPEM, "Bring your own root: its certificate PEM.")
	a.Describe(&r.RootKeyPEM, "Bring your own root: its key PEM, possibly encrypted with password. Required for the first entry, which signs; a root that is only trusted may omit it.")
	a.Describe(&r.Password, "Decrypts this root's rootKeyPem. Default: certificate.password.")
}

// MeshRevision is one Istio revision of the mesh's control planes.
type MeshRevision struct {
	Name         string `pulumi:"name"`
	IstioVersion string `pulumi:"istioVersion"`
}

// Annotate documents MeshRevision.
func (r *MeshRevision) Annotate(a infer.Annotator) {
	a.Describe(&r.Name, "The revision: a DNS label such as 1-31-0. \"default\" is the control plane installed without a revision (what a mesh without revisions has).")
	a.Describe(&r.IstioVersion, "The revision's Istio version.")
}

// MultiClusterMesh is the component: one multi-primary, multi-network Istio mesh.
type MultiClusterMesh struct {
	pulumi.ResourceState
	RootCertPEM        pulumi.StringOutput       `pulumi:"rootCertPem"`
	RootKeyPEM         pulumi.StringOutput       `pulumi:"rootKeyPem" provider:"secret"`
	GatewayAddresses   pulumi.StringMapOutput    `pulumi:"gatewayAddresses"`
	Networks           pulumi.StringMapOutput    `pulumi:"networks"`
	MeshStatus         pulumi.StringMapMapOutput `pulumi:"meshStatus"`
	IntermediateExpiry pulumi.StringMapOutput    `pulumi:"intermediateExpiry"`
}

// Annotate documents MultiClusterMesh.
func (m *MultiClusterMesh) Annotate(a infer.Annotator) {
	a.Describe(&m, "A multi-primary, multi-network Istio mesh across Kubernetes clusters: a shared root CA, per-cluster intermediates in cacerts, istiod, an east-west gateway, remote secrets for every ordered pair of clusters, and optionally Istio's helloworld sample.")
	a.Describe(&m.RootCertPEM, "The signing root's certificate (the first of certificate.roots), PEM.")
	a.Describe(&m.RootKeyPEM, "The signing root's key, PEM; encrypted PKCS#8 when a password is set.")
	a.Describe(&m.GatewayAddresses, "Each cluster's east-west gateway address (IP or hostname), by cluster name.")
	a.Describe(&m.Networks, "Each cluster's network, by cluster name.")
	a.Describe(&m.MeshStatus, "What each cluster's istiod says of each peer: cluster → peer → \"synced\" or the reason it is not. Empty when verify is false.")
	a.Describe(&m.IntermediateExpiry, "When each cluster's intermediate CA expires, RFC 3339, by cluster name. `pulumi up` reissues it once within certificate.renewBeforeHours of that time.")
}

// DefaultIstioVersion is the Istio release installed when none is given.
const DefaultIstioVersion = "1.30.5"
