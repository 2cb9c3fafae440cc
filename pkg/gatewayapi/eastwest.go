package gatewayapi

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// GatewayGVR is the resource of Gateway objects, at the version ristio
// writes; GatewayGVK and GatewayClassGVK are their kinds and the classes'.
var (
	GatewayGVR      = schema.GroupVersionResource{Group: Group, Version: "v1", Resource: "gateways"}
	GatewayGVK      = GatewayGVR.GroupVersion().WithKind("Gateway")
	GatewayClassGVK = GatewayGVR.GroupVersion().WithKind("GatewayClass")
)

// What makes a Gateway the east-west gateway of an ambient network
// (pkg/config/constants in the pinned istio.io/istio).
const (
	// EastWestClass is the GatewayClass istiod deploys east-west gateways for.
	EastWestClass = "istio-east-west"
	// HBONEPort is the one listener's port: ztunnels of other networks tunnel
	// to it.
	HBONEPort = naming.HBONEPort
	// HBONEProtocol is the listener's protocol, an Istio extension.
	HBONEProtocol = "HBONE"
	// MeshListener is the listener's name.
	MeshListener = "mesh"
	// TLSTerminateModeOption makes the gateway terminate Istio mTLS on the
	// listener.
	TLSTerminateModeOption = "gateway.istio.io/tls-terminate-mode"
	// IstioMutual is TLSTerminateModeOption's value.
	IstioMutual = "ISTIO_MUTUAL"
)

// EastWestGatewayName is the east-west Gateway's name, the same as the
// sidecar mesh's gateway so that both give one Service name.
const EastWestGatewayName = naming.EastWestService

// EastWestGatewayOptions are the inputs of the east-west Gateway.
type EastWestGatewayOptions struct {
	Network string
	// Revision, when not empty, is the istiod revision that deploys and
	// programs the gateway (istio.io/rev).
	Revision string
}

// EastWestGateway returns the east-west Gateway of o.Network, as Istio's
// multi-network ambient guide writes it:
//
//	apiVersion: gateway.networking.k8s.io/v1
//	kind: Gateway
//	metadata:
//	  name: istio-eastwestgateway
//	  namespace: istio-system
//	  labels:
//	    topology.istio.io/network: <Network>
//	    istio.io/rev: <Revision>            # when set
//	    app.kubernetes.io/managed-by: ristio
//	spec:
//	  gatewayClassName: istio-east-west
//	  listeners:
//	  - name: mesh
//	    port: 15008
//	    protocol: HBONE
//	    tls:
//	      mode: Terminate
//	      options: {gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL}
//
// istiod deploys it (a Deployment and a LoadBalancer Service of the same
// name) and writes its address into the Gateway's status.
func EastWestGateway(o EastWestGatewayOptions) *unstructured.Unstructured {
	labels := map[string]any{
		naming.NetworkLabel:   o.Network,
		naming.ManagedByLabel: naming.ManagedByValue,
	}
	if o.Revision != "" {
		labels[naming.RevisionLabel] = o.Revision
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GatewayGVR.GroupVersion().String(),
		"kind":       "Gateway",
		"metadata": map[string]any{
			"name":      EastWestGatewayName,
			"namespace": naming.IstioNamespace,
			"labels":    labels,
		},
		"spec": map[string]any{
			"gatewayClassName": EastWestClass,
			"listeners": []any{map[string]any{
				"name":     MeshListener,
				"port":     int64(HBONEPort),
				"protocol": HBONEProtocol,
				"tls": map[string]any{
					"mode":    "Terminate",
					"options": map[string]any{TLSTerminateModeOption: IstioMutual},
				},
			}},
		},
	}}
}

// GatewayStatus is what a Gateway's status says about it.
type GatewayStatus struct {
	// Programmed is the Programmed condition's status, true only when it
	// is "True" for the Gateway's current generation.
	Programmed bool
	// Reason and Message are the Programmed condition's, when it has one.
	Reason, Message string
	// Addresses are status.addresses' values, sorted.
	Addresses []string
}

// ReadGatewayStatus reads a Gateway's status. A Programmed condition written
// for an older generation counts as not programmed: the controller has not
// seen the current spec yet.
func ReadGatewayStatus(gw *unstructured.Unstructured) GatewayStatus {
	var s GatewayStatus
	conds, _, _ := unstructured.NestedSlice(gw.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Programmed" {
			continue
		}
		s.Reason, _ = m["reason"].(string)
		s.Message, _ = m["message"].(string)
		observed := asInt64(m["observedGeneration"])
		s.Programmed = m["status"] == "True" && (observed == 0 || observed == gw.GetGeneration())
	}
	addrs, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
	for _, a := range addrs {
		if m, ok := a.(map[string]any); ok {
			if v, ok := m["value"].(string); ok && v != "" {
				s.Addresses = append(s.Addresses, v)
			}
		}
	}
	slices.Sort(s.Addresses)
	return s
}

// asInt64 reads a JSON number as decoders leave it: int64 from the API
// server's decoder, float64 from encoding/json.
func asInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// String says the status in a few words, for progress lines.
func (s GatewayStatus) String() string {
	state := "not programmed"
	if s.Programmed {
		state = "programmed"
	}
	if s.Reason != "" {
		state += " (" + s.Reason + ")"
	}
	return fmt.Sprintf("%s, addresses %v", state, s.Addresses)
}
