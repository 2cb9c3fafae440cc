package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// EastWestGateway is the istio-eastwestgateway Helm release plus the
// cross-network-gateway Gateway that exposes the cluster's services to other networks.
type EastWestGateway struct {
	deps Deps
	clusterResource[EastWestGatewayArgs, EastWestGatewayState, kubeHelm[eastWestKube]]
}

// EastWestGatewayArgs are the EastWestGateway inputs.
type EastWestGatewayArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	Network        string            `pulumi:"network"`
	IstioVersion   string            `pulumi:"istioVersion"`
	Revision       *string           `pulumi:"revision,optional"`
	ProxyRevision  *string           `pulumi:"proxyRevision,optional"`
	GatewayValues  map[string]any    `pulumi:"gatewayValues,optional"`
	GatewayAddress *string           `pulumi:"gatewayAddress,optional"`
	WaitForAddress *bool             `pulumi:"waitForAddress,optional" diff:"quiet"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	Adopt          *bool             `pulumi:"adopt,optional" diff:"quiet"`
	MeshMark
	ChartSource
}

func (a EastWestGatewayArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds, adopt: a.Adopt}
}

// Annotate documents EastWestGatewayArgs.
func (c *EastWestGatewayArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to install into.")
	a.Describe(&c.Network, "The network this gateway serves (networkGateway).")
	a.Describe(&c.IstioVersion, "Istio version: the gateway chart version (and image tag).")
	a.Describe(&c.Revision, "Istio revision the gateway's proxies attach to.")
	a.Describe(&c.ProxyRevision, "The revision the default tag points at, for a gateway that follows the tag (no revision): a change restarts its pods so that revision injects them.")
	a.Describe(&c.GatewayValues, "Extra Helm values for the gateway chart, merged over ristio's.")
	a.Describe(&c.GatewayAddress, "A fixed address for this gateway: no wait for a load balancer; the address is reported as is.")
	a.Describe(&c.WaitForAddress, "Wait until the gateway Service has a load-balancer IP or hostname.")
	a.SetDefault(&c.WaitForAddress, true)
	a.Describe(&c.TimeoutSeconds, "How long to wait for the gateway and its address.")
	a.Describe(&c.Adopt, "Take over an east-west gateway and cross-network-gateway made by istioctl and kubectl: the Service keeps its load balancer and address, the Deployment rolls onto the gateway chart, and istioctl's leftover service account and role go once it has.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// EastWestGatewayState is the EastWestGateway output.
type EastWestGatewayState struct {
	EastWestGatewayArgs
	Address        string `pulumi:"address"`
	ReleaseStatus  string `pulumi:"releaseStatus"`
	GatewayPresent bool   `pulumi:"gatewayPresent"`
}

// Annotate documents EastWestGatewayState.
func (s *EastWestGatewayState) Annotate(a infer.Annotator) {
	a.Describe(&s.Address, "The gateway's address: the fixed gatewayAddress, or the Service's load-balancer IP or hostname.")
	a.Describe(&s.ReleaseStatus, "Status of the istio-eastwestgateway release as last seen.")
	a.Describe(&s.GatewayPresent, "Whether the cross-network-gateway Gateway was present when last seen.")
}

// Annotate documents EastWestGateway.
func (r *EastWestGateway) Annotate(a infer.Annotator) {
	a.Describe(&r, "The east-west gateway of one cluster: Helm release istio-eastwestgateway (LoadBalancer, ports 15021/15443/15012/15017) and Gateway cross-network-gateway (AUTO_PASSTHROUGH on 15443 for *.local).")
}
