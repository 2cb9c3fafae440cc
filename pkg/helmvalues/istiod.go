package helmvalues

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// DefaultGatewayPort is the east-west gateway's AUTO_PASSTHROUGH mTLS port, the
// one meshNetworks gateway entries point at.
const DefaultGatewayPort = naming.CrossNetworkPort

// MultiRootEnv is istiod's switch for trusting, and reloading, more than one
// root (Istio's features.MultiRootMesh).
const MultiRootEnv = "ISTIO_MULTIROOT_MESH"

// MeshNetwork tells istiod how to reach one cluster's network: its endpoints
// come from the cluster's registry, and, when GatewayAddress is set, traffic
// for them goes through that fixed address (an IP or a DNS name) instead of the
// address istiod discovers from the east-west gateway Service.
type MeshNetwork struct {
	Network string
	Cluster string
	// GatewayAddress is a fixed address of the network's east-west gateway.
	// Networks none of whose clusters has one are left out of meshNetworks:
	// istiod then discovers the gateway from the Service labelled
	// topology.istio.io/network.
	GatewayAddress string
	// GatewayPort defaults to DefaultGatewayPort.
	GatewayPort int
}

// IstiodOptions are the inputs of the istiod chart's values.
type IstiodOptions struct {
	MeshID   string
	Cluster  string // global.multiCluster.clusterName
	Network  string // global.network
	Revision string // revision, when not empty
	// Hub is the image registry (global.hub), when not empty. Charts taken
	// from an Istio source tree default to a testing registry.
	Hub string
	// Tag is the image tag (global.tag), when not empty. Released charts
	// default to their own version; charts from a source tree do not.
	Tag          string
	MeshNetworks []MeshNetwork
	// Overrides are the user's values, merged over ours (see Merge).
	Overrides map[string]any
}

// Istiod returns the values for Istio's istiod chart of a primary cluster in a
// multi-primary, multi-network mesh:
//
//	global:
//	  meshID: <MeshID>
//	  multiCluster: {clusterName: <Cluster>}
//	  network: <Network>
//	  hub: <Hub>                    # when set
//	  tag: <Tag>                    # when set
//	  meshNetworks:                 # when a network has a fixed gateway address
//	    <network>:
//	      endpoints: [{fromRegistry: <cluster>}, ...]
//	      gateways: [{address: <address>, port: 15443}, ...]
//	revision: <Revision>            # when set
//	env:
//	  ISTIO_MULTIROOT_MESH: "true"
//
// followed by Overrides. ISTIO_MULTIROOT_MESH lets istiod load a changed
// root-cert.pem without a restart (without it, only a new intermediate under
// the same roots is reloaded), which a root rotation needs in every step.
func Istiod(o IstiodOptions) map[string]any {
	global := map[string]any{
		"meshID":       o.MeshID,
		"multiCluster": map[string]any{"clusterName": o.Cluster},
		"network":      o.Network,
	}
	if o.Hub != "" {
		global["hub"] = o.Hub
	}
	if o.Tag != "" {
		global["tag"] = o.Tag
	}
	if mn := MeshNetworks(o.MeshNetworks); len(mn) > 0 {
		global["meshNetworks"] = mn
	}
	v := map[string]any{"global": global, "env": map[string]any{MultiRootEnv: "true"}}
	if o.Revision != "" {
		v["revision"] = o.Revision
	}
	return Merge(v, o.Overrides)
}

// CheckOverrides refuses user values for istiod that would undo what the
// mesh depends on: ISTIO_MULTIROOT_MESH turned off (under env or pilot.env,
// which the chart merges into env) would leave istiod on the old root in the
// middle of a root rotation, and the clusters distrusting each other.
func CheckOverrides(overrides map[string]any) error {
	for _, path := range [][]string{{"env"}, {"pilot", "env"}} {
		env, _ := lookup(overrides, path...).(map[string]any)
		v, set := env[MultiRootEnv]
		if !set {
			continue
		}
		if s := fmt.Sprint(v); s != "true" {
			return fmt.Errorf("%s.%s is %q: a root rotation depends on it being \"true\", which ristio sets", strings.Join(path, "."), MultiRootEnv, s)
		}
	}
	return nil
}

// lookup walks nested maps along path; nil when a step is missing.
func lookup(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// MeshNetworks returns the value of global.meshNetworks for networks. Only
// networks with at least one fixed gateway address appear; each lists every
// cluster of the network as an endpoint registry and every distinct gateway
// address. Networks, clusters and gateways are sorted, so the result depends
// only on the set of entries, not their order. It returns nil when no network
// has a fixed address.
func MeshNetworks(networks []MeshNetwork) map[string]any {
	type gateway struct {
		address string
		port    int
	}
	clusters := map[string][]string{}
	gateways := map[string][]gateway{}
	for _, n := range networks {
		if n.Cluster != "" && !slices.Contains(clusters[n.Network], n.Cluster) {
			clusters[n.Network] = append(clusters[n.Network], n.Cluster)
		}
		if n.GatewayAddress == "" {
			continue
		}
		g := gateway{address: n.GatewayAddress, port: cmp.Or(n.GatewayPort, DefaultGatewayPort)}
		if !slices.Contains(gateways[n.Network], g) {
			gateways[n.Network] = append(gateways[n.Network], g)
		}
	}
	if len(gateways) == 0 {
		return nil
	}
	out := make(map[string]any, len(gateways))
	for network, gws := range gateways {
		slices.SortFunc(gws, func(a, b gateway) int {
			return cmp.Or(cmp.Compare(a.address, b.address), cmp.Compare(a.port, b.port))
		})
		cs := clusters[network]
		slices.Sort(cs)
		endpoints := make([]any, 0, len(cs))
		for _, c := range cs {
			endpoints = append(endpoints, map[string]any{"fromRegistry": c})
		}
		gwList := make([]any, 0, len(gws))
		for _, g := range gws {
			gwList = append(gwList, map[string]any{"address": g.address, "port": g.port})
		}
		out[network] = map[string]any{"endpoints": endpoints, "gateways": gwList}
	}
	return out
}
