package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[AmbientNodeAgentsArgs, AmbientNodeAgentsState] = (*AmbientNodeAgents)(nil)
	_ infer.CustomCheck[AmbientNodeAgentsArgs]                            = (*AmbientNodeAgents)(nil)
	_ infer.CustomDiff[AmbientNodeAgentsArgs, AmbientNodeAgentsState]     = (*AmbientNodeAgents)(nil)
	_ infer.CustomUpdate[AmbientNodeAgentsArgs, AmbientNodeAgentsState]   = (*AmbientNodeAgents)(nil)
	_ infer.CustomRead[AmbientNodeAgentsArgs, AmbientNodeAgentsState]     = (*AmbientNodeAgents)(nil)
	_ infer.CustomDelete[AmbientNodeAgentsState]                          = (*AmbientNodeAgents)(nil)
)

// nodeAgentReleases are the node agents' releases, in install order.
var nodeAgentReleases = []string{naming.CNIRelease, naming.ZtunnelRelease}

// Check validates the connection, version, network, revision and chart source.
func (r *AmbientNodeAgents) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[AmbientNodeAgentsArgs], error) {
	return checkInputs(ctx, req, func(args AmbientNodeAgentsArgs, _ *AmbientNodeAgentsArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		failures = append(failures, checkIstioVersion("istioVersion", args.Cluster.Name, args.IstioVersion)...)
		failures = append(failures, checkChartSource(r.deps, "chartRepository", args.ChartSource)...)
		failures = append(failures, checkNetwork(args.Cluster.Name, args.Network)...)
		if args.Revision != nil {
			if err := naming.ValidateDNSLabel(*args.Revision); err != nil {
				failures = append(failures, p.CheckFailure{Property: "revision", Reason: fmt.Sprintf("cluster %q: revision %v", args.Cluster.Name, err)})
			}
		}
		return failures
	})
}

// newAmbientNodeAgents builds the resource; its Diff upgrades in place and
// reinstalls a release refresh found missing or failed.
func newAmbientNodeAgents(deps Deps) *AmbientNodeAgents {
	r := &AmbientNodeAgents{deps: deps}
	r.clusterResource = clusterResource[AmbientNodeAgentsArgs, AmbientNodeAgentsState, releaseClient]{
		connect: connectHelm(deps),
		claims:  deps,
		takeover: func(AmbientNodeAgentsArgs, *AmbientNodeAgentsState) takeover {
			return takeover{releases: nodeAgentReleases}
		},
		drift: func(s AmbientNodeAgentsState) map[string]bool {
			return map[string]bool{"cniStatus": s.CNIStatus != deployed, "ztunnelStatus": s.ZtunnelStatus != deployed}
		},
		apply: r.apply, read: readNodeAgents, remove: removeNodeAgents, preview: previewNodeAgents,
	}
	return r
}

// previewNodeAgents says, for an update that moves the node agents, that
// every node's ztunnel restarts: an in-place upgrade, as Istio's, resets
// the connections of the ambient workloads on each node as it goes.
func previewNodeAgents(ctx context.Context, in AmbientNodeAgentsArgs, prior *AmbientNodeAgentsState) AmbientNodeAgentsState {
	if prior == nil {
		return AmbientNodeAgentsState{AmbientNodeAgentsArgs: in}
	}
	if in.IstioVersion != prior.IstioVersion || deref(in.Revision) != deref(prior.Revision) {
		p.GetLogger(ctx).Warningf("cluster %s: istio-cni and ztunnel will be upgraded in place from %s to %s (istiod %s): each node's ztunnel restarts, resetting the connections of the ambient workloads on it",
			in.Cluster.Name, releaseLabel(prior.IstioVersion, prior.Revision), releaseLabel(in.IstioVersion, in.Revision), naming.IstiodDeployment(deref(in.Revision)))
	}
	return withArgs(*prior, in)
}

// releaseLabel names a version of revision for a person: "1.30.1 (revision canary)".
func releaseLabel(version string, revision *string) string {
	return fmt.Sprintf("%s (revision %s)", version, naming.RevisionLabelValue(deref(revision)))
}

// apply installs or upgrades istio-cni, then ztunnel. Nothing is written
// before both releases are known to be this mesh's; it has touched the
// cluster once Helm recorded a cni release.
func (r *AmbientNodeAgents) apply(ctx context.Context, hc releaseClient, w writer, in AmbientNodeAgentsArgs, _ *AmbientNodeAgentsState) (AmbientNodeAgentsState, bool, error) {
	state := AmbientNodeAgentsState{AmbientNodeAgentsArgs: in}
	name, rev := in.Cluster.Name, deref(in.Revision)
	for _, rel := range nodeAgentReleases {
		if _, err := ownedRelease(ctx, hc, w, name, rel); err != nil {
			return state, false, err
		}
	}
	src := r.deps.chartSource(in.ChartSource)
	cni, err := applyChart(ctx, hc, src, name, naming.CNIRelease, charts.CNI, in.IstioVersion,
		helmvalues.CNI(helmvalues.CNIOptions{Hub: istioHub, Tag: in.IstioVersion, Revision: rev}))
	if cni == nil {
		return state, false, err
	}
	state.CNIStatus = cni.Status
	if err != nil {
		return state, true, err
	}
	zt, err := applyChart(ctx, hc, src, name, naming.ZtunnelRelease, charts.Ztunnel, in.IstioVersion,
		helmvalues.Ztunnel(helmvalues.ZtunnelOptions{Cluster: name, Network: in.Network, Hub: istioHub, Tag: in.IstioVersion, Revision: rev}))
	if zt != nil {
		state.ZtunnelStatus = zt.Status
	}
	return state, true, err
}

// readNodeAgents notices releases uninstalled or failed by hand.
func readNodeAgents(ctx context.Context, hc releaseClient, state AmbientNodeAgentsState) (AmbientNodeAgentsState, error) {
	var err error
	if state.CNIStatus, _, err = releaseStatus(ctx, hc, naming.CNIRelease); err != nil {
		return state, fmt.Errorf("reading release %s: %w", naming.CNIRelease, err)
	}
	if state.ZtunnelStatus, _, err = releaseStatus(ctx, hc, naming.ZtunnelRelease); err != nil {
		return state, fmt.Errorf("reading release %s: %w", naming.ZtunnelRelease, err)
	}
	return state, nil
}

// removeNodeAgents uninstalls ztunnel, then istio-cni, each only when it is
// this mesh's.
func removeNodeAgents(ctx context.Context, hc releaseClient, w writer, s AmbientNodeAgentsState) error {
	for _, rel := range []string{naming.ZtunnelRelease, naming.CNIRelease} {
		if err := uninstallOwned(ctx, hc, w, s.Cluster.Name, rel); err != nil {
			return err
		}
	}
	return nil
}
