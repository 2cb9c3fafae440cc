package helmvalues

import "github.com/ristio/pulumi-ristio/pkg/naming"

// EastWestGatewayName is the east-west gateway's Deployment, Service and
// ServiceAccount name.
const EastWestGatewayName = naming.EastWestService

// GatewayOptions are the inputs of the east-west gateway's values.
type GatewayOptions struct {
	Network  string
	Revision string // revision, when not empty: the istiod that injects the proxy
	// ProxyRevision, when not empty, is written on the pods
	// (naming.ProxyRevisionAnnotation): the revision the default tag points
	// at, so that moving the tag restarts the gateway onto it.
	ProxyRevision string
	// Tag is set as global.tag, when not empty. The gateway chart runs its
	// proxy as image "auto": the injecting istiod picks the image, so the tag
	// that matters is istiod's (IstiodOptions.Tag).
	Tag string
	// Overrides are the user's values, merged over ours (see Merge).
	Overrides map[string]any
}

// EastWestGateway returns the values for Istio's gateway chart that make it
// the east-west gateway of o.Network:
//
//	name: istio-eastwestgateway
//	networkGateway: <Network>
//	labels: {istio: eastwestgateway, app: istio-eastwestgateway}
//	service:
//	  type: LoadBalancer
//	  ports: status-port 15021, tls 15443, tls-istiod 15012, tls-webhook 15017
//	revision: <Revision>            # when set
//	global: {tag: <Tag>}            # when set
//	podAnnotations: {ristio.io/proxy-revision: <ProxyRevision>}  # when set
//
// followed by Overrides.
//
// networkGateway is the one input that makes the chart render the network
// everywhere it belongs: the topology.istio.io/network label on the Service
// and the pods, the ISTIO_META_REQUESTED_NETWORK_VIEW variable, and the four
// Service ports above (with networkGateway set the chart renders these ports
// itself and ignores service.ports, which is set anyway so that the values
// describe the gateway on their own). The label and the variable are
// deliberately not repeated under labels and env: the chart would render them
// twice, a duplicate YAML key on the pods' labels and a duplicate env entry
// that breaks strategic-merge patches on upgrade.
func EastWestGateway(o GatewayOptions) map[string]any {
	v := map[string]any{
		"name":           EastWestGatewayName,
		"networkGateway": o.Network,
		"labels": map[string]any{
			"istio": "eastwestgateway",
			"app":   EastWestGatewayName,
		},
		"service": map[string]any{
			"type": "LoadBalancer",
			"ports": []any{
				port("status-port", 15021),
				port("tls", DefaultGatewayPort),
				port("tls-istiod", 15012),
				port("tls-webhook", 15017),
			},
		},
	}
	if o.Revision != "" {
		v["revision"] = o.Revision
	}
	if o.Tag != "" {
		v["global"] = map[string]any{"tag": o.Tag}
	}
	if o.ProxyRevision != "" {
		v["podAnnotations"] = map[string]any{naming.ProxyRevisionAnnotation: o.ProxyRevision}
	}
	return Merge(v, o.Overrides)
}

func port(name string, n int) map[string]any {
	return map[string]any{"name": name, "port": n, "targetPort": n, "protocol": "TCP"}
}
