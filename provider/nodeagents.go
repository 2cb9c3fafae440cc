package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// AmbientNodeAgents are the node agents of one cluster of an ambient mesh:
// the istio-cni and ztunnel Helm releases. There is one pair per cluster,
// whatever the number of control plane revisions: they follow the revision
// the mesh's default tag points at and are upgraded in place, as Istio's
// ambient upgrade guide does.
type AmbientNodeAgents struct {
	deps Deps
	clusterResource[AmbientNodeAgentsArgs, AmbientNodeAgentsState, releaseClient]
}

// AmbientNodeAgentsArgs are the AmbientNodeAgents inputs.
type AmbientNodeAgentsArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	Network        string            `pulumi:"network"`
	IstioVersion   string            `pulumi:"istioVersion"`
	Revision       *string           `pulumi:"revision,optional"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	MeshMark
	ChartSource
}

func (a AmbientNodeAgentsArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds}
}

// Annotate documents AmbientNodeAgentsArgs.
func (c *AmbientNodeAgentsArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to install into.")
	a.Describe(&c.Network, "The cluster's network: ztunnel's global.network.")
	a.Describe(&c.IstioVersion, "Istio version of both charts (and image tag). A change upgrades both releases in place.")
	a.Describe(&c.Revision, "The istiod revision ztunnel takes its configuration and certificates from (istiod-<revision>); unset for the control plane installed without one. A change moves both releases in place.")
	a.Describe(&c.TimeoutSeconds, "Upper bound of each operation, in seconds.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// AmbientNodeAgentsState is the AmbientNodeAgents output.
type AmbientNodeAgentsState struct {
	AmbientNodeAgentsArgs
	CNIStatus     string `pulumi:"cniStatus"`
	ZtunnelStatus string `pulumi:"ztunnelStatus"`
}

// Annotate documents AmbientNodeAgentsState.
func (s *AmbientNodeAgentsState) Annotate(a infer.Annotator) {
	a.Describe(&s.CNIStatus, "Status of the istio-cni release as last seen (deployed, failed, or empty when missing).")
	a.Describe(&s.ZtunnelStatus, "Status of the ztunnel release as last seen.")
}

// Annotate documents AmbientNodeAgents.
func (r *AmbientNodeAgents) Annotate(a infer.Annotator) {
	a.Describe(&r, "The node agents of one cluster of an ambient mesh: the istio-cni and ztunnel Helm releases in istio-system, one pair per cluster whatever the number of control plane revisions. They follow the revision the default tag points at; a new version or revision upgrades them in place, as Istio's ambient upgrade does.")
}
