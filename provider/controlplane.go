package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// IstioControlPlane is istio-system labelled with the cluster's network, plus
// the istio-base and istiod Helm releases.
type IstioControlPlane struct {
	deps Deps
	clusterResource[IstioControlPlaneArgs, IstioControlPlaneState, kubeHelm[controlPlaneKube]]
}

// MeshNetworkArgs pins one network's east-west gateway to a fixed address.
type MeshNetworkArgs struct {
	Network        string `pulumi:"network"`
	Cluster        string `pulumi:"cluster"`
	GatewayAddress string `pulumi:"gatewayAddress"`
}

// Annotate documents MeshNetworkArgs.
func (m *MeshNetworkArgs) Annotate(a infer.Annotator) {
	a.Describe(&m.Network, "The network.")
	a.Describe(&m.Cluster, "The cluster whose endpoints live on that network.")
	a.Describe(&m.GatewayAddress, "The network's east-west gateway address (IP or hostname), reached on port 15443.")
}

// IstioControlPlaneArgs are the IstioControlPlane inputs.
type IstioControlPlaneArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	MeshID         string            `pulumi:"meshId"`
	Network        string            `pulumi:"network"`
	IstioVersion   string            `pulumi:"istioVersion"`
	Revision       *string           `pulumi:"revision,optional" provider:"replaceOnChanges"`
	MeshNetworks   []MeshNetworkArgs `pulumi:"meshNetworks,optional"`
	IstiodValues   map[string]any    `pulumi:"istiodValues,optional"`
	Dataplane      *string           `pulumi:"dataplane,optional"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	Adopt          *bool             `pulumi:"adopt,optional" diff:"quiet"`
	MeshMark
	ChartSource
}

func (a IstioControlPlaneArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds, adopt: a.Adopt}
}

// Annotate documents IstioControlPlaneArgs.
func (c *IstioControlPlaneArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to install into.")
	a.Describe(&c.MeshID, "Istio's global.meshID.")
	a.Describe(&c.Network, "The cluster's network: namespace label topology.istio.io/network and global.network.")
	a.Describe(&c.IstioVersion, "Istio version: the chart version (and image tag).")
	a.Describe(&c.Revision, "Istio revision, for canary control planes: release and Deployment istiod-<revision>. A change installs the new revision's istiod beside the old one, then removes the old one.")
	a.Describe(&c.MeshNetworks, "Networks whose gateways have fixed addresses, written to global.meshNetworks.")
	a.Describe(&c.IstiodValues, "Extra Helm values for istiod, merged over ristio's.")
	a.Describe(&c.Dataplane, "sidecar (default) or ambient: istiod with the ambient profile and multi-network on (the node agents are AmbientNodeAgents). A live control plane does not switch (istio/istio#61746).")
	a.Describe(&c.TimeoutSeconds, "How long to wait for istiod to become available.")
	a.Describe(&c.Adopt, "Take over an `istioctl install` instead of refusing it: istio-base and istiod become Helm releases with Helm's take-ownership (istiod's keeps istioctl's name, istio, so its pods keep their labels), and istioctl's default revision tag gives way to the release's own injector.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// IstioControlPlaneState is the IstioControlPlane output.
type IstioControlPlaneState struct {
	IstioControlPlaneArgs
	BaseStatus     string `pulumi:"baseStatus"`
	IstiodStatus   string `pulumi:"istiodStatus"`
	BaseRevision   int    `pulumi:"baseRevision"`
	IstiodRevision int    `pulumi:"istiodRevision"`
	IstiodRelease  string `pulumi:"istiodRelease,optional"`
}

// Annotate documents IstioControlPlaneState.
func (s *IstioControlPlaneState) Annotate(a infer.Annotator) {
	a.Describe(&s.BaseStatus, "Status of the istio-base release as last seen (deployed, failed, or empty when missing).")
	a.Describe(&s.IstiodStatus, "Status of the istiod release as last seen.")
	a.Describe(&s.BaseRevision, "Helm revision of istio-base.")
	a.Describe(&s.IstiodRevision, "Helm revision of istiod.")
	a.Describe(&s.IstiodRelease, "Name of the istiod Helm release: istiod-<revision>, or istiod for the default revision (and for control planes created before revisions had their own release).")
}

// Annotate documents IstioControlPlane.
func (r *IstioControlPlane) Annotate(a infer.Annotator) {
	a.Describe(&r, "Istio's control plane in one cluster: the labelled istio-system namespace and the istio-base and istiod Helm releases. A version change is an in-place Helm upgrade. Several control planes of different revisions share one istio-base: each moves it forward to its own version, none moves it back, and the last one removed uninstalls it.")
}
