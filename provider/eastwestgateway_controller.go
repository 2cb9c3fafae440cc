package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[EastWestGatewayArgs, EastWestGatewayState]       = (*EastWestGateway)(nil)
	_ infer.CustomCheck[EastWestGatewayArgs]                                = (*EastWestGateway)(nil)
	_ infer.CustomDiff[EastWestGatewayArgs, EastWestGatewayState]           = (*EastWestGateway)(nil)
	_ infer.CustomUpdate[EastWestGatewayArgs, EastWestGatewayState]         = (*EastWestGateway)(nil)
	_ infer.CustomRead[EastWestGatewayArgs, EastWestGatewayState]           = (*EastWestGateway)(nil)
	_ infer.ExplicitDependencies[EastWestGatewayArgs, EastWestGatewayState] = (*EastWestGateway)(nil)
	_ infer.CustomDelete[EastWestGatewayState]                              = (*EastWestGateway)(nil)
)

// Check validates the connection, version and chart source.
func (r *EastWestGateway) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[EastWestGatewayArgs], error) {
	return checkInputs(ctx, req, func(args EastWestGatewayArgs, old *EastWestGatewayArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		failures = append(failures, checkIstioVersion("istioVersion", args.Cluster.Name, args.IstioVersion)...)
		failures = append(failures, checkChartSource(r.deps, "chartRepository", args.ChartSource)...)
		failures = append(failures, checkNetwork(args.Cluster.Name, args.Network)...)
		return failures
	})
}

// WireDependencies says what the address depends on: where the gateway is
// reached, not which Istio version runs it. A version bump therefore keeps
// the address known in preview, and what consumes it (every peer's
// MeshCheck) shows no change.
func (r *EastWestGateway) WireDependencies(f infer.FieldSelector, args *EastWestGatewayArgs, state *EastWestGatewayState) {
	f.OutputField(&state.Address).DependsOn(
		f.InputField(&args.Cluster).Computed(), f.InputField(&args.GatewayAddress).Computed(),
		f.InputField(&args.GatewayValues).Computed(), f.InputField(&args.WaitForAddress).Computed())
	f.OutputField(&state.ReleaseStatus).DependsOn(f.InputField(args).Computed())
	f.OutputField(&state.GatewayPresent).DependsOn(f.InputField(args).Computed())
}

// eastWestKube is what the gateway asks of its cluster's API server.
type eastWestKube interface {
	objectClient
	rolloutClient
	leftoverClient
	ServiceAddress(ctx context.Context, ns, name string) (string, error)
	WaitForServiceAddress(ctx context.Context, ns, name string, progress kube.Progress) (string, error)
}

// newEastWestGateway builds the resource; its Diff upgrades in place and
// repairs a release or Gateway removed by hand.
func newEastWestGateway(deps Deps) *EastWestGateway {
	r := &EastWestGateway{deps: deps}
	r.clusterResource = clusterResource[EastWestGatewayArgs, EastWestGatewayState, kubeHelm[eastWestKube]]{
		connect: connectKubeHelm[eastWestKube](deps),
		claims:  deps,
		takeover: func(EastWestGatewayArgs, *EastWestGatewayState) takeover {
			t := eastWestTakeover
			t.release, t.workload = naming.EastWestRelease, eastWestDeployment
			return t
		},
		drift: func(s EastWestGatewayState) map[string]bool {
			return map[string]bool{"releaseStatus": s.ReleaseStatus != deployed, "gatewayPresent": !s.GatewayPresent}
		},
		apply: r.apply, read: readEastWest, remove: removeEastWest,
	}
	return r
}

// eastWestTakeover is what the gateway writes.
var eastWestTakeover = takeover{
	objects:  []objectRef{{gatewayGVK, naming.IstioNamespace, naming.CrossNetworkGateway}},
	releases: []string{naming.EastWestRelease},
}

// apply installs the gateway and waits for its address; it has touched the
// cluster once the release exists.
func (r *EastWestGateway) apply(ctx context.Context, c kubeHelm[eastWestKube], w writer, in EastWestGatewayArgs, _ *EastWestGatewayState) (EastWestGatewayState, bool, error) {
	state := EastWestGatewayState{EastWestGatewayArgs: in}
	done := func(err error) (EastWestGatewayState, bool, error) { return state, state.ReleaseStatus != "", err }
	name, adopt := in.Cluster.Name, deref(in.Adopt)
	report := progress(ctx, name)
	values := helmvalues.EastWestGateway(helmvalues.GatewayOptions{
		Network: in.Network, Revision: deref(in.Revision), ProxyRevision: deref(in.ProxyRevision), Tag: in.IstioVersion, Overrides: in.GatewayValues,
	})
	c.helm.setTakeOwnership(adopt)
	rel, err := installChart(ctx, c.helm, w, r.deps.chartSource(in.ChartSource), name, naming.EastWestRelease, charts.Gateway, in.IstioVersion, values)
	if rel != nil {
		state.ReleaseStatus = rel.Status
	}
	if err != nil {
		return done(err)
	}
	p.GetLogger(ctx).InfoStatusf("%s: applying Gateway %s/%s", name, naming.IstioNamespace, naming.CrossNetworkGateway)
	if err := applyOwned(ctx, c.kube, w, crossNetworkGateway(), adopt); err != nil {
		return done(fmt.Errorf("applying Gateway %s/%s: %w", naming.IstioNamespace, naming.CrossNetworkGateway, err))
	}
	state.GatewayPresent = true
	// The adopted gateway rolls onto the chart's pods; istioctl's service
	// account goes only once no pod of the old ones runs with it (also on
	// a retry, when the Deployment is already the release's).
	if adopt {
		if err := c.kube.WaitForDeployment(ctx, naming.IstioNamespace, naming.EastWestDeployment, report); err != nil {
			return done(err)
		}
		if err := dropIstioctlGateway(ctx, c.kube, name); err != nil {
			return done(err)
		}
	}
	switch {
	case deref(in.GatewayAddress) != "":
		state.Address = deref(in.GatewayAddress)
	case !deref(in.WaitForAddress):
		state.Address, err = c.kube.ServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService)
	default:
		if err = c.kube.WaitForDeployment(ctx, naming.IstioNamespace, naming.EastWestDeployment, report); err == nil {
			state.Address, err = c.kube.WaitForServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService, report)
		}
	}
	return done(err)
}

// crossNetworkGateway exposes every *.local service on 15443 with
// AUTO_PASSTHROUGH, as in Istio's multi-network guide.
func crossNetworkGateway() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gatewayGVK.GroupVersion().String(),
		"kind":       gatewayGVK.Kind,
		"metadata": map[string]any{
			"name":      naming.CrossNetworkGateway,
			"namespace": naming.IstioNamespace,
			"labels":    map[string]any{naming.ManagedByLabel: naming.ManagedByValue},
		},
		"spec": map[string]any{
			"selector": map[string]any{"istio": "eastwestgateway"},
			"servers": []any{map[string]any{
				"port":  map[string]any{"number": int64(naming.CrossNetworkPort), "name": "tls", "protocol": "TLS"},
				"tls":   map[string]any{"mode": "AUTO_PASSTHROUGH"},
				"hosts": []any{"*.local"},
			}},
		},
	}}
}

// readEastWest notices a removed release or Gateway, and a changed address.
func readEastWest(ctx context.Context, c kubeHelm[eastWestKube], state EastWestGatewayState) (EastWestGatewayState, error) {
	var err error
	if state.ReleaseStatus, _, err = releaseStatus(ctx, c.helm, naming.EastWestRelease); err != nil {
		return state, err
	}
	gw, err := c.kube.Get(ctx, gatewayGVK, naming.IstioNamespace, naming.CrossNetworkGateway)
	if err != nil {
		return state, err
	}
	state.GatewayPresent = gw != nil
	if deref(state.GatewayAddress) == "" {
		state.Address, err = c.kube.ServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService)
	}
	return state, err
}

// removeEastWest removes the Gateway, then the release.
func removeEastWest(ctx context.Context, c kubeHelm[eastWestKube], w writer, s EastWestGatewayState) error {
	if err := deleteManaged(ctx, c.kube, w, gatewayGVK, naming.IstioNamespace, naming.CrossNetworkGateway); err != nil {
		return err
	}
	return uninstallOwned(ctx, c.helm, w, s.Cluster.Name, naming.EastWestRelease)
}
