package provider

import (
	"context"
	"fmt"

	"github.com/Masterminds/semver/v3"
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
		if args.MeshID == "" {
			failures = append(failures, p.CheckFailure{Property: "meshId", Reason: "meshId must not be empty"})
		}
		failures = append(failures, checkNetwork(args.Cluster.Name, args.Network)...)
		if err := helmvalues.CheckOverrides(args.IstiodValues); err != nil {
			failures = append(failures, p.CheckFailure{Property: "istiodValues", Reason: fmt.Sprintf("cluster %q: %v", args.Cluster.Name, err)})
		}
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
		t := controlPlaneTakeover(req.Inputs.Revision, "")
		t.release, t.workload = naming.IstioctlRelease, istiodDeployment(deref(req.Inputs.Revision))
		if err := r.deps.previewClaims(ctx, req.Inputs.Cluster, req.Inputs.Adopt, writerOf(req.Inputs, id, false), t); err != nil {
			return infer.CreateResponse[IstioControlPlaneState]{}, err
		}
		return infer.CreateResponse[IstioControlPlaneState]{ID: id, Output: state}, nil
	}
	state, err := r.apply(ctx, writerOf(req.Inputs, id, false), req.Inputs, "")
	if err != nil && state.BaseStatus == "" {
		return infer.CreateResponse[IstioControlPlaneState]{}, err
	}
	return infer.CreateResponse[IstioControlPlaneState]{ID: id, Output: state}, partial(err)
}

// Update upgrades the releases in place.
func (r *IstioControlPlane) Update(ctx context.Context, req infer.UpdateRequest[IstioControlPlaneArgs, IstioControlPlaneState]) (infer.UpdateResponse[IstioControlPlaneState], error) {
	// Previews, and changes to how the cluster is reached or how long to wait,
	// touch nothing.
	changes := r.changes(req.State, req.Inputs)
	if req.DryRun || quietOnly(changes, req.Inputs) {
		state := req.State
		state.IstioControlPlaneArgs = req.Inputs
		return infer.UpdateResponse[IstioControlPlaneState]{Output: state}, nil
	}
	w := writerOf(req.Inputs, req.ID, true)
	if markOnly(changes, req.Inputs) {
		state := req.State
		state.IstioControlPlaneArgs = req.Inputs
		ctx, cancel := withTimeout(ctx, req.Inputs.TimeoutSeconds)
		defer cancel()
		t := controlPlaneTakeover(req.Inputs.Revision, istiodRelease(req.State))
		return infer.UpdateResponse[IstioControlPlaneState]{Output: state}, r.deps.markOwned(ctx, req.Inputs.Cluster, w, t)
	}
	state, err := r.apply(ctx, w, req.Inputs, istiodRelease(req.State))
	return infer.UpdateResponse[IstioControlPlaneState]{Output: state}, partial(err)
}

// istiodRelease is the release a control plane manages: the one it recorded,
// or istiod for states written before each revision had its own release.
func istiodRelease(state IstioControlPlaneState) string {
	if state.IstiodRelease != "" {
		return state.IstiodRelease
	}
	return naming.IstiodRelease
}

// controlPlaneTakeover is what a control plane of revision writes: istio-base
// and istiod's release (istiodRelease, or the one revision's install makes
// when "").
func controlPlaneTakeover(revision *string, istiodRelease string) takeover {
	if istiodRelease == "" {
		istiodRelease = naming.IstiodReleaseFor(deref(revision))
	}
	return takeover{releases: []string{naming.BaseRelease, istiodRelease}}
}

// apply installs or upgrades istio-base and istiod's release, which is
// chosen on create when release is empty: istioctl's when adopting one.
func (r *IstioControlPlane) apply(ctx context.Context, w writer, in IstioControlPlaneArgs, release string) (IstioControlPlaneState, error) {
	state := IstioControlPlaneState{IstioControlPlaneArgs: in, IstiodRelease: release}
	ctx, cancel := withTimeout(ctx, in.TimeoutSeconds)
	defer cancel()
	name := in.Cluster.Name
	report := progress(ctx, name)

	client, err := r.deps.kubeClient(in.Cluster)
	if err != nil {
		return state, err
	}
	hc, err := r.deps.helmClient(ctx, in.Cluster, w)
	if err != nil {
		return state, err
	}
	src := r.deps.chartSource(in.ChartSource)
	rev := deref(in.Revision)
	adopting, err := r.adopting(ctx, client, hc, in)
	if err != nil {
		return state, wrapCluster(name, err)
	}
	if release == "" {
		release = naming.IstiodReleaseFor(rev)
		if adopting {
			release = naming.IstioctlRelease
		}
		state.IstiodRelease = release
	}
	// Nothing is written, the namespace's network label included, before
	// both releases are known to be this mesh's (or taken over).
	for _, rel := range []string{naming.BaseRelease, release} {
		if _, err := ownedRelease(ctx, hc, w, name, rel); err != nil {
			return state, err
		}
	}
	if err := client.EnsureNamespace(ctx, naming.IstioNamespace, map[string]string{naming.NetworkLabel: in.Network}); err != nil {
		return state, wrapCluster(name, err)
	}

	base, err := r.applyBase(ctx, hc, w, src, name, in.IstioVersion, rev)
	if base != nil {
		state.BaseStatus, state.BaseRevision = base.Status, base.Revision
	}
	if err != nil {
		return state, err
	}

	values := helmvalues.Istiod(helmvalues.IstiodOptions{
		MeshID: in.MeshID, Cluster: name, Network: in.Network, Revision: rev, Hub: istioHub, Tag: in.IstioVersion,
		MeshNetworks: meshNetworks(in.MeshNetworks), Overrides: in.IstiodValues,
	})
	existing, err := ownedRelease(ctx, hc, w, name, release)
	if err != nil {
		return state, err
	}
	if err := claimRelease(existing, name, release, rev); err != nil {
		return state, err
	}
	// Both steps are no-ops once done: a retry after a failed adoption
	// (when istiod is already the release's) still finishes them.
	if deref(in.Adopt) {
		if err := reactivateInjector(ctx, client); err != nil {
			return state, wrapCluster(name, err)
		}
	}
	istiod, err := applyChart(ctx, hc, src, name, release, charts.Istiod, in.IstioVersion, values)
	if istiod != nil {
		state.IstiodStatus, state.IstiodRevision = istiod.Status, istiod.Revision
	}
	if err != nil {
		return state, err
	}
	if deref(in.Adopt) {
		if err := dropIstioctlTag(ctx, client, name); err != nil {
			return state, wrapCluster(name, err)
		}
	}
	// The chart turns the revision-less injector back on; while a revision
	// tag holds its selectors it must stay off (see RevisionTag).
	if rev == "" {
		if err := keepDefaultInjectorOff(ctx, client); err != nil {
			return state, wrapCluster(name, err)
		}
	}

	if err := client.WaitForDeployment(ctx, naming.IstioNamespace, naming.IstiodDeployment(rev), report); err != nil {
		return state, wrapCluster(name, err)
	}
	return state, nil
}

// claimRelease refuses to turn an istiod release of one revision into
// another's: a revision named "default" next to one migrated from
// `revision`, whose release kept the name istiod, would otherwise replace
// that revision's istiod. Another ristio resource of the same revision may
// take the release over (a renamed cluster's new control plane does).
func claimRelease(rel *helm.Release, cluster, release, revision string) error {
	if rel == nil {
		return nil
	}
	if has, _ := rel.Values["revision"].(string); has != revision {
		return wrapCluster(cluster, fmt.Errorf("the Helm release %s/%s runs revision %s, not %s; two revisions cannot share it", naming.IstioNamespace, release, naming.RevisionLabelValue(has), naming.RevisionLabelValue(revision)))
	}
	return nil
}

// applyBase moves istio-base forward to version. Control planes of several
// revisions share it: a newer one found is left alone (CRDs never go back),
// and the revision the default validator points at is kept (the revision tag
// moves it).
func (r *IstioControlPlane) applyBase(ctx context.Context, hc *helm.Client, w writer, src charts.Source, cluster, version, revision string) (*helm.Release, error) {
	values := helmvalues.Base(revision)
	existing, err := ownedRelease(ctx, hc, w, cluster, naming.BaseRelease)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.Status == deployed {
		if newer(existing.ChartVersion, version) {
			p.GetLogger(ctx).Infof("cluster %s: keeping release %s at chart %s, newer than %s", cluster, naming.BaseRelease, existing.ChartVersion, version)
			return existing, nil
		}
		if def, ok := existing.Values[helmvalues.BaseDefaultRevisionKey].(string); ok && def != "" {
			values[helmvalues.BaseDefaultRevisionKey] = def
		}
	}
	return applyChart(ctx, hc, src, cluster, naming.BaseRelease, charts.Base, version, values)
}

// newer reports whether chart version a is a later release than b.
func newer(a, b string) bool {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	return errA == nil && errB == nil && va.GreaterThan(vb)
}

func meshNetworks(in []MeshNetworkArgs) []helmvalues.MeshNetwork {
	out := make([]helmvalues.MeshNetwork, 0, len(in))
	for _, m := range in {
		out = append(out, helmvalues.MeshNetwork{Network: m.Network, Cluster: m.Cluster, GatewayAddress: m.GatewayAddress, GatewayPort: naming.CrossNetworkPort})
	}
	return out
}

// installChart fetches a chart and installs or upgrades its release, unless
// the release is not ristio's (see ownedRelease). On failure the release Helm
// recorded (e.g. failed) is returned with the error.
func installChart(ctx context.Context, hc *helm.Client, w writer, src charts.Source, cluster, release, chartName, version string, values map[string]any) (*helm.Release, error) {
	if _, err := ownedRelease(ctx, hc, w, cluster, release); err != nil {
		return nil, err
	}
	return applyChart(ctx, hc, src, cluster, release, chartName, version, values)
}

// applyChart fetches a chart and installs or upgrades its release; callers
// have read the release with ownedRelease.
func applyChart(ctx context.Context, hc *helm.Client, src charts.Source, cluster, release, chartName, version string, values map[string]any) (*helm.Release, error) {
	logger := p.GetLogger(ctx)
	logger.InfoStatusf("%s: fetching chart %s %s", cluster, chartName, version)
	ch, err := src.Load(ctx, chartName, version)
	if err != nil {
		return nil, wrapCluster(cluster, err)
	}
	logger.InfoStatusf("%s: installing release %s (chart %s %s)", cluster, release, chartName, version)
	rel, err := hc.Apply(ctx, release, ch, values)
	if err != nil {
		return rel, wrapCluster(cluster, fmt.Errorf("release %s: %w", release, err))
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
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // refresh is bounded like the writes
	defer cancel()
	state := req.State
	hc, err := r.deps.helmClient(ctx, state.Cluster, writer{owner: req.ID})
	if err != nil {
		return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{}, err
	}
	if state.BaseStatus, state.BaseRevision, err = releaseStatus(ctx, hc, naming.BaseRelease); err != nil {
		return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{}, wrapCluster(state.Cluster.Name, fmt.Errorf("reading release %s: %w", naming.BaseRelease, err))
	}
	if state.IstiodStatus, state.IstiodRevision, err = releaseStatus(ctx, hc, istiodRelease(state)); err != nil {
		return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{}, wrapCluster(state.Cluster.Name, fmt.Errorf("reading release %s: %w", istiodRelease(state), err))
	}
	return infer.ReadResponse[IstioControlPlaneArgs, IstioControlPlaneState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete uninstalls istiod, then istio-base, then istio-system if ristio
// made it and nothing else lives there.
func (r *IstioControlPlane) Delete(ctx context.Context, req infer.DeleteRequest[IstioControlPlaneState]) (infer.DeleteResponse, error) {
	c := req.State.Cluster
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds)
	defer cancel()
	w := writerOf(req.State, req.ID, true)
	hc, err := r.deps.helmClient(ctx, c, w)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	client, err := r.deps.kubeClient(c)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	rev := deref(req.State.Revision)
	if tag, err := tagPointingAt(ctx, client, rev); err != nil || tag != "" {
		if err == nil {
			err = fmt.Errorf("revision tag %s still points at revision %s: move the tag (defaultRevision) first", tag, naming.RevisionLabelValue(rev))
		}
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if err := uninstallOwned(ctx, hc, w, c.Name, istiodRelease(req.State)); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	// istio-base is shared by every revision's control plane: the last one
	// out uninstalls it, whichever of them wrote it last.
	others, err := client.DeploymentNames(ctx, naming.IstioNamespace, "app=istiod")
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if len(others) > 0 {
		p.GetLogger(ctx).Infof("cluster %s: keeping release %s for %v", c.Name, naming.BaseRelease, others)
	} else if err := uninstallOwned(ctx, hc, writer{mesh: w.mesh}, c.Name, naming.BaseRelease); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	// Used on its own, the control plane made istio-system; in a mesh the
	// cacerts secret still lives there and CACerts removes it last.
	if err := deleteNamespaceIfOurs(ctx, client, c.Name, naming.IstioNamespace, istioNamespaceUse(ctx, client)); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
