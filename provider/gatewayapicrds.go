package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// GatewayAPICRDs are the Kubernetes Gateway API CRDs of one cluster, at the
// release ristio pins: an ambient mesh's east-west gateway is a Gateway API
// Gateway.
type GatewayAPICRDs struct {
	deps Deps
	clusterResource[GatewayAPICRDsArgs, GatewayAPICRDsState, gatewayAPICRDsKube]
}

// GatewayAPICRDsArgs are the GatewayAPICRDs inputs.
type GatewayAPICRDsArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	MeshMark
}

func (a GatewayAPICRDsArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds}
}

// Annotate documents GatewayAPICRDsArgs.
func (c *GatewayAPICRDsArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to install into.")
	a.Describe(&c.TimeoutSeconds, "Upper bound of each operation, in seconds.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// GatewayAPICRDsState is the GatewayAPICRDs output.
type GatewayAPICRDsState struct {
	GatewayAPICRDsArgs
	Version string   `pulumi:"version"`
	Created []string `pulumi:"created"`
	Kept    []string `pulumi:"kept"`
	Missing []string `pulumi:"missing,optional"`
}

// Annotate documents GatewayAPICRDsState.
func (s *GatewayAPICRDsState) Annotate(a infer.Annotator) {
	a.Describe(&s.Version, "The Gateway API release ristio installs.")
	a.Describe(&s.Created, "The CRDs ristio installed (or upgraded from its own older release): the only ones it deletes, and only while no object of their kind is left.")
	a.Describe(&s.Kept, "The CRDs the cluster already had at the pinned release or a newer one: left as they are, never deleted.")
	a.Describe(&s.Missing, "CRDs of created found missing by refresh: an update installs them again.")
}

// Annotate documents GatewayAPICRDs.
func (r *GatewayAPICRDs) Annotate(a infer.Annotator) {
	a.Describe(&r, "The standard-channel Kubernetes Gateway API CRDs of the release ristio pins, in one cluster: each absent one is installed; one of the same or a newer release is kept, whoever installed it; an older one ristio did not install is refused at preview (upgrade it yourself). Delete removes only the CRDs ristio installed, and only those with no object left.")
}
