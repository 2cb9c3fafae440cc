package helmvalues

import (
	"fmt"
	"strings"
)

// AmbientProfile is the Istio chart profile that turns ambient mode on
// (PILOT_ENABLE_AMBIENT in istiod, the ambient CNI plugin in cni).
const AmbientProfile = "ambient"

// istiod switches of Istio's multi-network ambient mode (pilot/pkg/features/ambient.go
// in the pinned module). Each is ignored unless the profile is ambient.
const (
	// AmbientMultiNetworkEnv lets ztunnels reach other networks through
	// their east-west gateways.
	AmbientMultiNetworkEnv = "AMBIENT_ENABLE_MULTI_NETWORK"
	// AmbientBaggageEnv lets waypoints carry peer metadata across networks
	// in the baggage header.
	AmbientBaggageEnv = "AMBIENT_ENABLE_BAGGAGE"
	// AmbientMultiNetworkIngressEnv lets ingress gateways route to other
	// networks. Its default changed between releases, so it is always set.
	AmbientMultiNetworkIngressEnv = "AMBIENT_ENABLE_MULTI_NETWORK_INGRESS"
)

// AmbientIstiodOptions are the inputs of istiod's values in an ambient mesh.
type AmbientIstiodOptions struct {
	// IstiodOptions are those of a sidecar mesh: mesh, cluster, network,
	// revision, image and the user's Overrides, which still win over
	// everything here.
	IstiodOptions
	// IngressAcrossNetworks sets AMBIENT_ENABLE_MULTI_NETWORK_INGRESS: ingress
	// gateways then route to other networks too, rather than keep traffic
	// local (the pinned istiod's default).
	IngressAcrossNetworks bool
}

// AmbientIstiod returns the values for Istio's istiod chart of a primary
// cluster in a multi-primary, multi-network ambient mesh: Istiod's values
// and
//
//	profile: ambient
//	env:
//	  AMBIENT_ENABLE_MULTI_NETWORK: "true"
//	  AMBIENT_ENABLE_BAGGAGE: "true"
//	  AMBIENT_ENABLE_MULTI_NETWORK_INGRESS: "true" | "false"
//
// followed by Overrides. The profile brings PILOT_ENABLE_AMBIENT and the
// service scope rule (services labelled istio.io/global: "true" are global).
func AmbientIstiod(o AmbientIstiodOptions) map[string]any {
	sidecar := o.IstiodOptions
	sidecar.Overrides = nil
	v := Merge(Istiod(sidecar), map[string]any{
		"profile": AmbientProfile,
		"env": map[string]any{
			AmbientMultiNetworkEnv:        "true",
			AmbientBaggageEnv:             "true",
			AmbientMultiNetworkIngressEnv: boolString(o.IngressAcrossNetworks),
		},
	})
	return Merge(v, o.Overrides)
}

// CNIOptions are the inputs of the cni chart's values.
type CNIOptions struct {
	Hub, Tag  string         // global.hub and global.tag, when not empty
	Revision  string         // revision, when not empty
	Overrides map[string]any // the user's values, merged over ours
}

// CNI returns the values for Istio's cni chart in an ambient mesh:
//
//	profile: ambient
//	revision: <Revision>           # when set
//	global: {hub: <Hub>, tag: <Tag>}  # each when set
//
// followed by Overrides.
func CNI(o CNIOptions) map[string]any {
	v := map[string]any{"profile": AmbientProfile}
	image(v, o.Hub, o.Tag)
	if o.Revision != "" {
		v["revision"] = o.Revision
	}
	return Merge(v, o.Overrides)
}

// ZtunnelOptions are the inputs of the ztunnel chart's values.
type ZtunnelOptions struct {
	Cluster   string         // multiCluster.clusterName: istiod's cluster name
	Network   string         // global.network: istiod's network
	Hub, Tag  string         // global.hub and global.tag, when not empty
	Revision  string         // revision, when not empty: the istiod it talks to
	Overrides map[string]any // the user's values, merged over ours
}

// Ztunnel returns the values for Istio's ztunnel chart in a multi-network
// ambient mesh, as the guide sets them:
//
//	multiCluster: {clusterName: <Cluster>}
//	global: {network: <Network>, hub: <Hub>, tag: <Tag>}  # hub and tag when set
//	revision: <Revision>           # when set
//
// followed by Overrides. ztunnel's own top-level network value is left
// unset: it would override global.network.
func Ztunnel(o ZtunnelOptions) map[string]any {
	v := map[string]any{
		"multiCluster": map[string]any{"clusterName": o.Cluster},
		"global":       map[string]any{"network": o.Network},
	}
	image(v, o.Hub, o.Tag)
	if o.Revision != "" {
		v["revision"] = o.Revision
	}
	return Merge(v, o.Overrides)
}

// image sets global.hub and global.tag in v, each when not empty.
func image(v map[string]any, hub, tag string) {
	if hub == "" && tag == "" {
		return
	}
	global, _ := v["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		v["global"] = global
	}
	if hub != "" {
		global["hub"] = hub
	}
	if tag != "" {
		global["tag"] = tag
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// CheckAmbientOverrides refuses user values for an ambient istiod that would
// undo what an ambient multi-network mesh depends on: another profile, or
// AMBIENT_ENABLE_MULTI_NETWORK turned off (under env or pilot.env). Without
// that switch istiod creates no istio-east-west GatewayClass and never
// deploys the east-west Gateway (test/ambient). The sidecar rules of
// CheckOverrides apply too.
func CheckAmbientOverrides(overrides map[string]any) error {
	if err := CheckOverrides(overrides); err != nil {
		return err
	}
	if p, set := overrides["profile"]; set && p != AmbientProfile {
		return fmt.Errorf("profile is %q: an ambient mesh needs %q, which ristio sets", fmt.Sprint(p), AmbientProfile)
	}
	for _, path := range [][]string{{"env"}, {"pilot", "env"}} {
		env, _ := lookup(overrides, path...).(map[string]any)
		v, set := env[AmbientMultiNetworkEnv]
		if set && fmt.Sprint(v) != "true" {
			return fmt.Errorf("%s.%s is %q: ambient multi-network needs it \"true\", which ristio sets", strings.Join(path, "."), AmbientMultiNetworkEnv, fmt.Sprint(v))
		}
	}
	return nil
}
