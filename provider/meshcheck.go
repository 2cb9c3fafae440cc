package provider

import (
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// dataplaneCheckDoc documents a check's dataplane input.
const dataplaneCheckDoc = "The mesh's data plane, as given to MultiClusterMesh: sidecar or ambient. With ambient every cluster's east-west gateway is the Gateway API Gateway istio-system/istio-eastwestgateway, which must be Programmed, and istiod must know it on its HBONE port 15008. Default: sidecar."

// MeshCheck asks istiod whether the mesh works between one cluster and its
// listed peers, both ways: the cluster's istiods (every revision) must sync
// every peer from its remote secret, know every peer's gateway, serve on
// 15012 a certificate every peer trusts and have loaded the current cacerts
// (a rotation step is checked by istiod itself); each peer's istiods must do
// the same for the cluster. The component lists, for each cluster, the
// clusters before it, so every pair is checked once and a cluster added at
// the end is checked by its own MeshCheck alone. It writes nothing; `up`
// waits for a healthy answer and `refresh` asks again.
type MeshCheck struct {
	clusterResource[MeshCheckArgs, MeshCheckState, meshChecker]
}

// MeshCheckArgs are the MeshCheck inputs.
type MeshCheckArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	Network        *string           `pulumi:"network,optional"`
	GatewayAddress *string           `pulumi:"gatewayAddress,optional"`
	Peers          []MeshCheckPeer   `pulumi:"peers"`
	Revision       *string           `pulumi:"revision,optional"`
	Revisions      []string          `pulumi:"revisions,optional"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	CACertPEM      *string           `pulumi:"caCertPem,optional"`
	RootCertPEM    *string           `pulumi:"rootCertPem,optional"`
	Dataplane      *string           `pulumi:"dataplane,optional"`
}

// target is the checked cluster.
func (a MeshCheckArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds}
}

// mesh is none: a check marks nothing.
func (MeshCheckArgs) mesh() naming.MeshIdentity { return "" }

// Annotate documents MeshCheckArgs.
func (c *MeshCheckArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster whose istiods are asked.")
	a.Describe(&c.Network, "The cluster's network, as every peer's istiods must know it. Default: network-<name>.")
	a.Describe(&c.GatewayAddress, "Where the cluster's east-west gateway is reached; every peer's istiods must know it on port 15443 (15008 with dataplane ambient). Default: its istio-eastwestgateway load-balancer address.")
	a.Describe(&c.Peers, "The clusters checked with this one, both ways: this cluster's istiods must see each of them, and each one's istiods must see this cluster.")
	a.Describe(&c.Revision, "Ask only the istiods of this revision. Default: every revision.")
	a.Describe(&c.TimeoutSeconds, "Upper bound of the whole check, in seconds: what has not answered by then is reported unreachable. Default 600.")
	a.Describe(&c.Revisions, "Revisions each of which must have a running istiod that passes (\"default\" is the one installed without a revision): a canary that is not up yet fails the check instead of going unasked.")
	a.Describe(&c.TimeoutSeconds, "How long `up` waits for every peer to be synced.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
	a.Describe(&c.CACertPEM, "The intermediate istiod must sign with: the certificate it serves on 15012 must be issued by this one, which proves istiod loaded the current cacerts. Default: the intermediate istiod presents with it (the check never reads cacerts, whose key signs every workload).")
	a.Describe(&c.Dataplane, dataplaneCheckDoc)
	a.Describe(&c.RootCertPEM, "The roots istiod must have loaded (root-cert.pem): istiod must distribute exactly these in istio-system/istio-ca-root-cert. Default: the roots istiod distributes there.")
}

// MeshCheckPeer is one peer as the checked cluster must see it.
type MeshCheckPeer struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	Network        string            `pulumi:"network"`
	GatewayAddress *string           `pulumi:"gatewayAddress,optional"`
	// RemoteSecretChecksums only trigger the check: it runs again when
	// they change.
	RemoteSecretChecksums []string `pulumi:"remoteSecretChecksums,optional"`
}

// Annotate documents MeshCheckPeer.
func (c *MeshCheckPeer) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "How to reach the peer, to read the roots it trusts (its cacerts root-cert.pem).")
	a.Describe(&c.Network, "The peer's network.")
	a.Describe(&c.GatewayAddress, "Where the peer's east-west gateway is reached; istiod must know it on port 15443 (15008 with dataplane ambient). Default: the peer's istio-eastwestgateway load-balancer address.")
	a.Describe(&c.RemoteSecretChecksums, "Checksums of the remote secrets between the two clusters, as last written: when one changes (a renewed token, a new server), `up` checks the pair again, and so proves each istiod still holds the other's endpoints after the rewrite.")
}

// MeshCheckState is the MeshCheck output.
type MeshCheckState struct {
	MeshCheckArgs
	Status     map[string]string `pulumi:"status"`
	PeerStatus map[string]string `pulumi:"peerStatus"`
	Healthy    bool              `pulumi:"healthy"`
	Istiods    []string          `pulumi:"istiods"`
}

// Annotate documents MeshCheckState.
func (s *MeshCheckState) Annotate(a infer.Annotator) {
	a.Describe(&s.Status, "Each peer: \"synced\", or why this cluster's istiod cannot reach it. In a mesh of one cluster, problems of its own istiod appear under its own name.")
	a.Describe(&s.PeerStatus, "Each peer: \"synced\" when its istiods see this cluster, or why they do not.")
	a.Describe(&s.Healthy, "Whether every pair is synced, both ways.")
	a.Describe(&s.Istiods, "The istiod pods asked.")
}

// Annotate documents MeshCheck.
func (r *MeshCheck) Annotate(a infer.Annotator) {
	a.Describe(&r, "Proof that one cluster and its listed peers work as a mesh, both ways, from istiod itself (port-forward to each istiod pod, as istioctl does): each side's /debug/clusterz lists the other as synced from istio-remote-secret-<other>, /debug/endpointShardz holds the other's endpoints of every service it serves of istiod's own and the sample's (what remote secrets exist for, and what some Istio releases lose when a remote secret is rewritten), /debug/networkz knows the other's gateway on 15443 (on 15008, and its east-west Gateway Programmed, with dataplane ambient), and the certificate served on 15012 chains through its own intermediate to a root the other trusts. MultiClusterMesh gives each cluster's check the clusters listed before it, so adding a cluster adds one check and changes none. Writes nothing; refresh asks again.")
}

// CheckMesh runs the MeshCheck of every cluster on demand, changing nothing.
type CheckMesh struct{ deps Deps }

// CheckMeshArgs are checkMesh's arguments.
type CheckMeshArgs struct {
	Clusters       []CheckMeshCluster `pulumi:"clusters"`
	Revision       *string            `pulumi:"revision,optional"`
	TimeoutSeconds *int               `pulumi:"timeoutSeconds,optional"`
	Dataplane      *string            `pulumi:"dataplane,optional"`
}

// Annotate documents CheckMeshArgs.
func (c *CheckMeshArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Clusters, "The mesh's clusters, as given to MultiClusterMesh (other fields of an entry are ignored).")
	a.Describe(&c.Revision, "Ask only the istiods of this revision. Default: every revision.")
	a.Describe(&c.TimeoutSeconds, "Upper bound of the whole check, in seconds: what has not answered by then is reported unreachable. Default 600.")
	a.Describe(&c.Dataplane, dataplaneCheckDoc)
}

// CheckMeshCluster is one cluster as checkMesh needs it.
type CheckMeshCluster struct {
	Name           string  `pulumi:"name"`
	Kubeconfig     *string `pulumi:"kubeconfig,optional" provider:"secret"`
	KubeconfigFile *string `pulumi:"kubeconfigFile,optional"`
	Context        *string `pulumi:"context,optional"`
	Network        *string `pulumi:"network,optional"`
	GatewayAddress *string `pulumi:"gatewayAddress,optional"`
}

// Annotate documents CheckMeshCluster.
func (c *CheckMeshCluster) Annotate(a infer.Annotator) {
	a.Describe(&c.Name, "The cluster's name in the mesh.")
	a.Describe(&c.Kubeconfig, "Kubeconfig contents.")
	a.Describe(&c.KubeconfigFile, "Path of a kubeconfig file.")
	a.Describe(&c.Context, "Kubeconfig context; the current context when unset.")
	a.Describe(&c.Network, "The cluster's network. Default: network-<name>.")
	a.Describe(&c.GatewayAddress, "Where the cluster's east-west gateway is reached. Default: its istio-eastwestgateway load-balancer address.")
}

// CheckMeshResult is checkMesh's result.
type CheckMeshResult struct {
	Status   map[string]map[string]string `pulumi:"status"`
	Healthy  bool                         `pulumi:"healthy"`
	Problems []string                     `pulumi:"problems"`
}

// Annotate documents CheckMeshResult.
func (r *CheckMeshResult) Annotate(a infer.Annotator) {
	a.Describe(&r.Status, "cluster → peer → \"synced\" or the reason it is not.")
	a.Describe(&r.Healthy, "Whether every pair is synced.")
	a.Describe(&r.Problems, "One line per pair that is not synced, naming both clusters.")
}

// Annotate documents CheckMesh.
func (f *CheckMesh) Annotate(a infer.Annotator) {
	a.Describe(&f, "Asks every cluster's istiods whether the mesh works, as MeshCheck does, without changing anything.")
}
