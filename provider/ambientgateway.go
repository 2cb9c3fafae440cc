package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// AmbientEastWestGateway is one cluster's east-west gateway in an ambient
// mesh: a Gateway API Gateway of class istio-east-west that istiod deploys.
type AmbientEastWestGateway struct {
	deps Deps
	clusterResource[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState, ambientGatewayKube]
}

// AmbientEastWestGatewayArgs are the AmbientEastWestGateway inputs.
type AmbientEastWestGatewayArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	Network        string            `pulumi:"network"`
	Revision       *string           `pulumi:"revision,optional"`
	WaitForAddress *bool             `pulumi:"waitForAddress,optional" diff:"quiet"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	MeshMark
}

func (a AmbientEastWestGatewayArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds}
}

// Annotate documents AmbientEastWestGatewayArgs.
func (c *AmbientEastWestGatewayArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to install into.")
	a.Describe(&c.Network, "The network this gateway serves: the Gateway's topology.istio.io/network label.")
	a.Describe(&c.Revision, "The istiod revision that deploys and programs the gateway (istio.io/rev).")
	a.Describe(&c.WaitForAddress, "Wait until istiod has programmed the Gateway and its status has an address.")
	a.SetDefault(&c.WaitForAddress, true)
	a.Describe(&c.TimeoutSeconds, "How long to wait for the Gateway's address.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// AmbientEastWestGatewayState is the AmbientEastWestGateway output.
type AmbientEastWestGatewayState struct {
	AmbientEastWestGatewayArgs
	Address        string `pulumi:"address"`
	Programmed     bool   `pulumi:"programmed"`
	GatewayPresent bool   `pulumi:"gatewayPresent"`
}

// Annotate documents AmbientEastWestGatewayState.
func (s *AmbientEastWestGatewayState) Annotate(a infer.Annotator) {
	a.Describe(&s.Address, "The gateway's address, from the Gateway's status (the load balancer of the Service istiod made).")
	a.Describe(&s.Programmed, "Whether the Gateway was Programmed when last seen.")
	a.Describe(&s.GatewayPresent, "Whether the Gateway was present when last seen.")
}

// Annotate documents AmbientEastWestGateway.
func (r *AmbientEastWestGateway) Annotate(a infer.Annotator) {
	a.Describe(&r, "The east-west gateway of one cluster of an ambient mesh: Gateway API Gateway istio-system/istio-eastwestgateway, class istio-east-west, one HBONE listener on 15008 terminating ISTIO_MUTUAL. istiod deploys it (a Deployment, Service and ServiceAccount the Gateway owns, removed with it) and writes its address into the Gateway's status.")
}
