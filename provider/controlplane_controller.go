package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[IstioControlPlaneArgs, IstioControlPlaneState] = (*IstioControlPlane)(nil)
	_ infer.CustomCheck[IstioControlPlaneArgs]                            = (*IstioControlPlane)(nil)
	_ infer.CustomDiff[IstioControlPlaneArgs, IstioControlPlaneState]     = (*IstioControlPlane)(nil)
	_ infer.CustomUpdate[IstioControlPlaneArgs, IstioControlPlaneState]   = (*IstioControlPlane)(nil)
	_ infer.CustomRead[IstioControlPlaneArgs, IstioControlPlaneState]     = (*IstioControlPlane)(nil)
	_ infer.CustomDelete[IstioControlPlaneState]                          = (*IstioControlPlane)(nil)
)

const deployed = "deployed"

// istioHub is where Istio publishes its release images. Released charts
// default to it; charts from Istio's source tree (a chartDirectory) point at
// a testing registry instead, so it is always set. istiodValues can override it.
const istioHub = "docker.io/istio"

// Check validates the connection, version, network and chart source.
func (r *IstioControlPlane) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[IstioControlPlaneArgs], error) {
	return checkInputs(ctx, req, func(args IstioControlPlaneArgs, old *IstioControlPlaneArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		failures = append(failures, checkIstioVersion("istioVersion", args.Cluster.Name, args.IstioVersion)...)
		failures = append(failures, checkChartSource(r.deps, "chartRepository", args.ChartSource)...)
		if args.MeshId == "" {
			failures = append(failures, p.CheckFailure{Property: "meshId", Reason: "meshId must not be empty"})
		}
		failures = append(failures, checkNetwork(args.Cluster.Name, args.Network)...)
		return failures
	})
}

// Diff upgrades in place; a different cluster is a replacement; a release found
// missing or failed by refresh is reinstalled.
func (r *IstioControlPlane) Diff(_ context.Context, req infer.DiffRequest[IstioControlPlaneArgs, IstioControlPlaneState]) (infer.DiffResponse, error) {
	diff := r.changes(req.State, req.Inputs)
	return diffResponse(diff), nil
}

// changes lists what differs between the state and new inputs, drift included.
func (r *IstioControlPlane) changes(state IstioControlPlaneState, inputs IstioControlPlaneArgs) map[string]p.PropertyDiff {
	diff := diffInputs(state.IstioControlPlaneArgs, inputs)
	if state.BaseStatus != deployed {
		diff["baseStatus"] = p.PropertyDiff{Kind: p.Update}
	}
	if state.IstiodStatus != deployed {
		diff["istiodStatus"] = p.PropertyDiff{Kind: p.Update}
	}
	return diff
}

// Create installs the control plane.
func (r *IstioControlPlane) Create(ctx context.Context, req infer.CreateRequest[IstioControlPlaneArgs]) (infer.CreateResponse[IstioControlPlaneState], error) {
	id := newID(req.Name)
	state := IstioControlPlaneState{IstioControlPlaneArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[IstioControlPlaneState]{ID: id, Output: state}, nil
	}
	state, err := r.apply(ctx, id, req.Inputs)
	if err != nil && state.BaseStatus == "" {
		return infer.CreateResponse[IstioControlPlaneState]{}, err
	}
	return infer.CreateResponse[IstioControlPlaneState]{ID: id, Output: state}, partial(err)
}

// Update upgrades the releases in place.
func (r *IstioControlPlane) Update(ctx context.Context, req infer.UpdateRequest[IstioControlPlaneArgs, IstioControlPlaneState]) (infer.UpdateResponse[IstioControlPlaneState], error) {
	// Previews, and changes to how the cluster is reached or how long to wait,
	// touch nothing.
	if req.DryRun || quietOnly(r.changes(req.State, req.Inputs), req.Inputs) {
		state := req.State
		state.IstioControlPlaneArgs = req.Inputs
		return infer.UpdateResponse[IstioControlPlaneState]{Output: state}, nil
	}
	state, err := r.apply(ctx, req.ID, req.Inputs)
	return infer.UpdateResponse[IstioControlPlaneState]{Output: state}, partial(err)
}

func (r *IstioControlPlane) apply(ctx context.Context, id string, in IstioControlPlaneArgs) (IstioControlPlaneState, error) {
	state := IstioControlPlaneState{IstioControlPlaneArgs: in}
	ctx, cancel := withTimeout(ctx, in.TimeoutSeconds)
	defer cancel()
	name := in.Cluster.Name
	report := progress(ctx, name)

	client, err := r.deps.kubeClient(in.Cluster)
	if err != nil {
		return state, err
	}
	if err := client.EnsureNamespace(ctx, naming.IstioNamespace, map[string]string{naming.NetworkLabel: in.Network}); err != nil {
		return state, fmt.Errorf("cluster %s: %w", name, err)
	}
	hc, err := r.deps.helmClient(ctx, in.Cluster, id)
	if err != nil {
		return state, err
	}
	src := r.deps.chartSource(in.ChartSource)
	rev := deref(in.Revision)

	base, err := installChart(ctx, hc, src, name, naming.BaseRelease, charts.Base, in.IstioVersion, helmvalues.Base(rev))
	if base != nil {
		state.BaseStatus, state.BaseRevision = base.Status, base.Revision
	}
	if err != nil {
		return state, err
	}

	values := helmvalues.Istiod(helmvalues.IstiodOptions{
		MeshID: in.MeshId, Cluster: name, Network: in.Network, Revision: rev, Hub: istioHub, Tag: in.IstioVersion,
		MeshNetworks: meshNetworks(in.MeshNetworks), Overrides: in.IstiodValues,
	})
	istiod, err := installChart(ctx, hc, src, name, naming.IstiodRelease, charts.Istiod, in.IstioVersion, values)
	if istiod != nil {
		state.IstiodStatus, state.IstiodRevision = istiod.Status, istiod.Revision
	}
	if err != nil {
		return state, err
	}

	if err := client.WaitForDeployment(ctx, naming.IstioNamespace, istiodDeployment(rev), report); err != nil {
		return state, fmt.Errorf("cluster %s: %w", name, err)
	}
	return state, nil
}

func istiodDeployment(revision string) string {
	if revision == "" {
		return "istiod"
	}
	return "istiod-" + revision
}

func meshNetworks(in []MeshNetworkArgs) []helmvalues.MeshNetwork {
	out := make([]helmvalues.MeshNetwork, 0, len(in))
	for _, m := range in {
		out = append(out, helmvalues.MeshNetwork{Network: m.Network, Cluster: m.Cluster, GatewayAddress: m.GatewayAddress, GatewayPort: naming.CrossNetworkPort})
	}
	return out
}

// installChart fetches a chart and installs or upgrades its release. A
// release that exists and was not written by ristio is left alone: taking it
// over would uninstall it on destroy. On failure the release Helm recorded
// (e.g. failed) is returned with the error.
func installChart(ctx context.Context, hc *helm.Client, src charts.Source, cluster, release, chartName, version string, values map[string]any) (*helm.Release, error) {
	logger := p.GetLogger(ctx)
	existing, err := hc.Get(ctx, release)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: reading release %s: %w", cluster, release, err)
	}
	if existing != nil && existing.Owner == "" {
		return nil, fmt.Errorf("cluster %s: Helm release %s/%s already exists and was not installed by ristio; uninstall it and run up again", cluster, naming.IstioNamespace, release)
	}
	logger.InfoStatusf("%s: fetching chart %s %s", cluster, chartName, version)
	ch, err := src.Load(ctx, chartName, version)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	logger.InfoStatusf("%s: installing release %s (chart %s %s)", cluster, release, chartName, version)
	rel, err := hc.Apply(ctx, release, ch, values)
	if err != nil {
		return rel, fmt.Errorf("cluster %s: release %s: %w", cluster, release, err)
	}
	return rel, nil
}

// releaseStatus is a release's status, or "" when it is gone.
func releaseStatus(ctx context.Context, hc *helm.Client, name string) (string, int, error) {
	rel, err := hc.Get(ctx, name)
	if err != nil || rel == nil {
		return "", 0, err
	}
	return rel.Status, rel.Revision, nil
}

// Read notices releases uninstalled or failed by hand.
func (r *IstioControlPlane) Read(ctx context.Context, req infer.ReadRequest[IstioControlPlaneArgs, IstioControlPlaneState]) (infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState], error) {
	state := req.State
	hc, err := r.deps.helmClient(ctx, state.Cluster, req.ID)
	if err != nil {
		return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{}, err
	}
	if state.BaseStatus, state.BaseRevision, err = releaseStatus(ctx, hc, naming.BaseRelease); err != nil {
		return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{}, fmt.Errorf("cluster %s: reading release %s: %w", state.Cluster.Name, naming.BaseRelease, err)
	}
	if state.IstiodStatus, state.IstiodRevision, err = releaseStatus(ctx, hc, naming.IstiodRelease); err != nil {
		return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{}, fmt.Errorf("cluster %s: reading release %s: %w", state.Cluster.Name, naming.IstiodRelease, err)
	}
	return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete uninstalls istiod, then istio-base, then istio-system if ristio
// made it and nothing else lives there.
func (r *IstioControlPlane) Delete(ctx context.Context, req infer.DeleteRequest[IstioControlPlaneState]) (infer.DeleteResponse, error) {
	c := req.State.Cluster
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds)
	defer cancel()
	hc, err := r.deps.helmClient(ctx, c, req.ID)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	for _, release := range []string{naming.IstiodRelease, naming.BaseRelease} {
		if err := uninstallOwned(ctx, hc, c.Name, release, req.ID); err != nil {
			return infer.DeleteResponse{}, deleteHint(c.Name, err)
		}
	}
	// Used on its own, the control plane made istio-system; in a mesh the
	// cacerts secret still lives there and CACerts removes it last.
	client, err := r.deps.kubeClient(c)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if err := deleteNamespaceIfOurs(ctx, client, c.Name, naming.IstioNamespace, istioNamespaceUse(ctx, client)); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
