package provider

import (
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
)

// The data planes a mesh may run (MultiClusterMeshArgs.Dataplane).
const (
	dataplaneSidecar = "sidecar"
	dataplaneAmbient = "ambient"
)

// ambientSwitchIssue is why a live mesh does not change data plane:
// turning AMBIENT_ENABLE_MULTI_NETWORK on changes how running sidecars see
// services of other clusters.
const ambientSwitchIssue = "istio/istio#61746"

// isAmbient says whether a dataplane input asks for ambient mode; unset is
// sidecar.
func isAmbient(dataplane *string) bool { return deref(dataplane) == dataplaneAmbient }

// dataplaneProblem says what is wrong with a dataplane input, or "".
func dataplaneProblem(dataplane *string) string {
	switch d := deref(dataplane); d {
	case "", dataplaneSidecar, dataplaneAmbient:
		return ""
	default:
		return fmt.Sprintf("must be %s or %s, got %q", dataplaneSidecar, dataplaneAmbient, d)
	}
}

// checkDataplane refuses an unknown data plane and a switch of a live
// resource from one data plane to the other (old is its inputs in state).
func checkDataplane(cluster string, dataplane *string, old *string, live bool) []p.CheckFailure {
	if msg := dataplaneProblem(dataplane); msg != "" {
		return []p.CheckFailure{{Property: "dataplane", Reason: fmt.Sprintf("cluster %q: %s", cluster, msg)}}
	}
	if !live || isAmbient(dataplane) == isAmbient(old) {
		return nil
	}
	from, to := dataplaneSidecar, dataplaneAmbient
	if isAmbient(old) {
		from, to = to, from
	}
	return []p.CheckFailure{{Property: "dataplane", Reason: fmt.Sprintf(
		"cluster %q: a live mesh cannot switch from %s to %s: turning ambient multi-network on changes how the running sidecars see services of other clusters (%s); "+
			"build a new %s mesh (a new stack, or new clusters) and move workloads to it, as the README's \"Ambient meshes\" section says",
		cluster, from, to, ambientSwitchIssue, to)}}
}

// validateDataplane checks the mesh's data plane and what an ambient mesh
// does not take.
func validateDataplane(problems *meshProblems, args MultiClusterMeshArgs) {
	if msg := dataplaneProblem(args.Dataplane); msg != "" {
		problems.add("dataplane", "%s", msg)
		return
	}
	if !isAmbient(args.Dataplane) {
		return
	}
	for i, c := range args.Clusters {
		field := clusterField(i, c)
		if deref(c.Adopt) {
			problems.add(field+".adopt", "adopt takes over a sidecar install (istioctl or ristioctl); it is not available with dataplane %s", dataplaneAmbient)
		}
		if c.GatewayAddress != nil {
			problems.add(field+".gatewayAddress", "with dataplane %s the east-west gateway's address comes from its Gateway's status; a fixed address is not supported", dataplaneAmbient)
		}
		if len(c.GatewayValues) > 0 {
			problems.add(field+".gatewayValues", "with dataplane %s istiod deploys the east-west gateway from a Gateway API Gateway; there is no gateway chart to take values", dataplaneAmbient)
		}
	}
}

// checkIstiodOverrides refuses user values for istiod that would undo what
// the data plane needs.
func checkIstiodOverrides(dataplane *string, overrides map[string]any) error {
	if isAmbient(dataplane) {
		return helmvalues.CheckAmbientOverrides(overrides)
	}
	return helmvalues.CheckOverrides(overrides)
}
