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
		if err := checkIstiodOverrides(args.Dataplane, args.IstiodValues); err != nil {
			failures = append(failures, p.CheckFailure{Property: "istiodValues", Reason: fmt.Sprintf("cluster %q: %v", args.Cluster.Name, err)})
		}
		var was *string
		if old != nil {
			was = old.Dataplane
		}
		failures = append(failures, checkDataplane(args.Cluster.Name, args.Dataplane, was, old != nil)...)
		return failures
	})
}

// controlPlaneKube is what a control plane asks of its cluster's API server.
type controlPlaneKube interface {
	namespaceClient
	secretClient
	webhookClient
	rolloutClient
	leftoverClient
	DeploymentNames(ctx context.Context, ns, selector string) ([]string, error)
}

// newIstioControlPlane builds the resource; its Diff upgrades in place; a
// different cluster is a replacement; a release found missing or failed by
// refresh is reinstalled.
func newIstioControlPlane(deps Deps) *IstioControlPlane {
	r := &IstioControlPlane{deps: deps}
	r.clusterResource = clusterResource[IstioControlPlaneArgs, IstioControlPlaneState, kubeHelm[controlPlaneKube]]{
		connect: connectKubeHelm[controlPlaneKube](deps),
		claims:  deps,
		takeover: func(in IstioControlPlaneArgs, prior *IstioControlPlaneState) takeover {
			var t takeover
			if prior != nil {
				t = controlPlaneTakeover(in.Revision, istiodRelease(*prior))
			} else {
				t = controlPlaneTakeover(in.Revision, "")
				t.release, t.workload = naming.IstioctlRelease, istiodDeployment(deref(in.Revision))
			}
			return t
		},
		drift: func(s IstioControlPlaneState) map[string]bool {
			return map[string]bool{"baseStatus": s.BaseStatus != deployed, "istiodStatus": s.IstiodStatus != deployed}
		},
		apply: r.apply, read: readControlPlane, remove: removeControlPlane,
	}
	return r
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
// chosen on create (no prior state): istioctl's when adopting one. It has
// touched the cluster once istio-system is labelled with the network.
func (r *IstioControlPlane) apply(ctx context.Context, c kubeHelm[controlPlaneKube], w writer, in IstioControlPlaneArgs, prior *IstioControlPlaneState) (IstioControlPlaneState, bool, error) {
	state := IstioControlPlaneState{IstioControlPlaneArgs: in}
	name, rev, adopt := in.Cluster.Name, deref(in.Revision), deref(in.Adopt)
	src := r.deps.chartSource(in.ChartSource)
	adopting, err := r.adopting(ctx, c.kube, c.helm, in)
	if err != nil {
		return state, false, err
	}
	switch {
	case prior != nil:
		state.IstiodRelease = istiodRelease(*prior)
	case adopting:
		state.IstiodRelease = naming.IstioctlRelease
	default:
		state.IstiodRelease = naming.IstiodReleaseFor(rev)
	}
	release := state.IstiodRelease
	// Nothing is written, the namespace's network label included, before
	// both releases are known to be this mesh's (or taken over).
	for _, rel := range []string{naming.BaseRelease, release} {
		if _, err := ownedRelease(ctx, c.helm, w, name, rel); err != nil {
			return state, false, err
		}
	}
	if err := c.kube.EnsureNamespace(ctx, naming.IstioNamespace, map[string]string{naming.NetworkLabel: in.Network}); err != nil {
		return state, false, err
	}
	touched := func(err error) (IstioControlPlaneState, bool, error) { return state, true, err }
	base, err := r.applyBase(ctx, c.helm, w, src, name, in.IstioVersion, rev)
	if base != nil {
		state.BaseStatus, state.BaseRevision = base.Status, base.Revision
	}
	if err != nil {
		return touched(err)
	}
	opts := helmvalues.IstiodOptions{
		MeshID: in.MeshID, Cluster: name, Network: in.Network, Revision: rev, Hub: istioHub, Tag: in.IstioVersion,
		MeshNetworks: meshNetworks(in.MeshNetworks), Overrides: in.IstiodValues,
	}
	values := helmvalues.Istiod(opts)
	if isAmbient(in.Dataplane) {
		values = helmvalues.AmbientIstiod(helmvalues.AmbientIstiodOptions{IstiodOptions: opts})
	}
	existing, err := ownedRelease(ctx, c.helm, w, name, release)
	if err == nil {
		err = claimRelease(existing, release, rev)
	}
	// Both steps are no-ops once done: a retry after a failed adoption
	// (when istiod is already the release's) still finishes them.
	if err == nil && adopt {
		err = reactivateInjector(ctx, c.kube)
	}
	if err != nil {
		return touched(err)
	}
	istiod, err := applyChart(ctx, c.helm, src, name, release, charts.Istiod, in.IstioVersion, values)
	if istiod != nil {
		state.IstiodStatus, state.IstiodRevision = istiod.Status, istiod.Revision
	}
	if err == nil && adopt {
		err = dropIstioctlTag(ctx, c.kube, name)
	}
	// The chart turns the revision-less injector back on; while a revision
	// tag holds its selectors it must stay off (see RevisionTag).
	if err == nil && rev == "" {
		err = keepDefaultInjectorOff(ctx, c.kube)
	}
	if err == nil {
		err = c.kube.WaitForDeployment(ctx, naming.IstioNamespace, naming.IstiodDeployment(rev), progress(ctx, name))
	}
	return touched(err)
}

// claimRelease refuses to turn an istiod release of one revision into
// another's: a revision named "default" next to one migrated from
// `revision`, whose release kept the name istiod, would otherwise replace
// that revision's istiod. Another ristio resource of the same revision may
// take the release over (a renamed cluster's new control plane does).
func claimRelease(rel *helm.Release, release, revision string) error {
	if rel == nil {
		return nil
	}
	if has, _ := rel.Values["revision"].(string); has != revision {
		return fmt.Errorf("the Helm release %s/%s runs revision %s, not %s; two revisions cannot share it", naming.IstioNamespace, release, naming.RevisionLabelValue(has), naming.RevisionLabelValue(revision))
	}
	return nil
}

// applyBase moves istio-base forward to version. Control planes of several
// revisions share it: a newer one found is left alone (CRDs never go back),
// and the revision the default validator points at is kept (the revision tag
// moves it).
func (r *IstioControlPlane) applyBase(ctx context.Context, hc releaseClient, w writer, src charts.Source, cluster, version, revision string) (*helm.Release, error) {
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
func installChart(ctx context.Context, hc releaseClient, w writer, src charts.Source, cluster, release, chartName, version string, values map[string]any) (*helm.Release, error) {
	if _, err := ownedRelease(ctx, hc, w, cluster, release); err != nil {
		return nil, err
	}
	return applyChart(ctx, hc, src, cluster, release, chartName, version, values)
}

// applyChart fetches a chart and installs or upgrades its release; callers
// have read the release with ownedRelease.
func applyChart(ctx context.Context, hc releaseClient, src charts.Source, cluster, release, chartName, version string, values map[string]any) (*helm.Release, error) {
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
func releaseStatus(ctx context.Context, hc releaseClient, name string) (string, int, error) {
	rel, err := hc.Get(ctx, name)
	if err != nil || rel == nil {
		return "", 0, err
	}
	return rel.Status, rel.Revision, nil
}

// readControlPlane notices releases uninstalled or failed by hand.
func readControlPlane(ctx context.Context, c kubeHelm[controlPlaneKube], state IstioControlPlaneState) (IstioControlPlaneState, error) {
	var err error
	if state.BaseStatus, state.BaseRevision, err = releaseStatus(ctx, c.helm, naming.BaseRelease); err != nil {
		return state, fmt.Errorf("reading release %s: %w", naming.BaseRelease, err)
	}
	if state.IstiodStatus, state.IstiodRevision, err = releaseStatus(ctx, c.helm, istiodRelease(state)); err != nil {
		return state, fmt.Errorf("reading release %s: %w", istiodRelease(state), err)
	}
	return state, nil
}

// removeControlPlane uninstalls istiod, then istio-base, then istio-system
// if ristio made it and nothing else lives there.
func removeControlPlane(ctx context.Context, c kubeHelm[controlPlaneKube], w writer, s IstioControlPlaneState) error {
	name, rev := s.Cluster.Name, deref(s.Revision)
	if tag, err := tagPointingAt(ctx, c.kube, rev); err != nil || tag != "" {
		if err == nil {
			err = fmt.Errorf("revision tag %s still points at revision %s: move the tag (defaultRevision) first", tag, naming.RevisionLabelValue(rev))
		}
		return err
	}
	if err := uninstallOwned(ctx, c.helm, w, name, istiodRelease(s)); err != nil {
		return err
	}
	// istio-base is shared by every revision's control plane: the last one
	// out uninstalls it, whichever of them wrote it last.
	others, err := c.kube.DeploymentNames(ctx, naming.IstioNamespace, "app=istiod")
	if err != nil {
		return err
	}
	if len(others) > 0 {
		p.GetLogger(ctx).Infof("cluster %s: keeping release %s for %v", name, naming.BaseRelease, others)
	} else if err := uninstallOwned(ctx, c.helm, writer{mesh: w.mesh}, name, naming.BaseRelease); err != nil {
		return err
	}
	// Used on its own, the control plane made istio-system; in a mesh the
	// cacerts secret still lives there and CACerts removes it last.
	return deleteNamespaceIfOurs(ctx, c.kube, name, naming.IstioNamespace, istioNamespaceUse(ctx, c.kube))
}
