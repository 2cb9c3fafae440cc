package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
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

// Diff upgrades in place and repairs a release or Gateway removed by hand.
func (r *EastWestGateway) Diff(_ context.Context, req infer.DiffRequest[EastWestGatewayArgs, EastWestGatewayState]) (infer.DiffResponse, error) {
	diff := r.changes(req.State, req.Inputs)
	return diffResponse(diff), nil
}

// changes lists what differs between the state and new inputs, drift included.
func (r *EastWestGateway) changes(state EastWestGatewayState, inputs EastWestGatewayArgs) map[string]p.PropertyDiff {
	diff := diffInputs(state.EastWestGatewayArgs, inputs)
	if state.ReleaseStatus != deployed {
		diff["releaseStatus"] = p.PropertyDiff{Kind: p.Update}
	}
	if !state.GatewayPresent {
		diff["gatewayPresent"] = p.PropertyDiff{Kind: p.Update}
	}
	return diff
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

// Create installs the gateway and waits for its address.
func (r *EastWestGateway) Create(ctx context.Context, req infer.CreateRequest[EastWestGatewayArgs]) (infer.CreateResponse[EastWestGatewayState], error) {
	id := newID(req.Name)
	if req.DryRun {
		t := eastWestTakeover
		t.release, t.workload = naming.EastWestRelease, eastWestDeployment
		if err := r.deps.previewClaims(ctx, req.Inputs.Cluster, req.Inputs.Adopt, writerOf(req.Inputs, id, false), t); err != nil {
			return infer.CreateResponse[EastWestGatewayState]{}, err
		}
		return infer.CreateResponse[EastWestGatewayState]{ID: id, Output: EastWestGatewayState{EastWestGatewayArgs: req.Inputs}}, nil
	}
	state, err := r.apply(ctx, writerOf(req.Inputs, id, false), req.Inputs)
	if err != nil && state.ReleaseStatus == "" {
		return infer.CreateResponse[EastWestGatewayState]{}, err
	}
	return infer.CreateResponse[EastWestGatewayState]{ID: id, Output: state}, partial(err)
}

// Update upgrades the gateway in place.
func (r *EastWestGateway) Update(ctx context.Context, req infer.UpdateRequest[EastWestGatewayArgs, EastWestGatewayState]) (infer.UpdateResponse[EastWestGatewayState], error) {
	// Previews, and changes to how the cluster is reached or how long to wait,
	// touch nothing.
	changes := r.changes(req.State, req.Inputs)
	if req.DryRun || quietOnly(changes, req.Inputs) {
		state := req.State
		state.EastWestGatewayArgs = req.Inputs
		return infer.UpdateResponse[EastWestGatewayState]{Output: state}, nil
	}
	w := writerOf(req.Inputs, req.ID, true)
	if markOnly(changes, req.Inputs) {
		state := req.State
		state.EastWestGatewayArgs = req.Inputs
		ctx, cancel := withTimeout(ctx, req.Inputs.TimeoutSeconds)
		defer cancel()
		return infer.UpdateResponse[EastWestGatewayState]{Output: state}, r.deps.markOwned(ctx, req.Inputs.Cluster, w, eastWestTakeover)
	}
	state, err := r.apply(ctx, w, req.Inputs)
	return infer.UpdateResponse[EastWestGatewayState]{Output: state}, partial(err)
}

// eastWestTakeover is what the gateway writes.
var eastWestTakeover = takeover{
	objects:  []objectRef{{gatewayGVK, naming.IstioNamespace, naming.CrossNetworkGateway}},
	releases: []string{naming.EastWestRelease},
}

func (r *EastWestGateway) apply(ctx context.Context, w writer, in EastWestGatewayArgs) (EastWestGatewayState, error) {
	state := EastWestGatewayState{EastWestGatewayArgs: in}
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
	values := helmvalues.EastWestGateway(helmvalues.GatewayOptions{
		Network: in.Network, Revision: deref(in.Revision), ProxyRevision: deref(in.ProxyRevision), Tag: in.IstioVersion, Overrides: in.GatewayValues,
	})
	hc.TakeOwnership = deref(in.Adopt)
	rel, err := installChart(ctx, hc, w, r.deps.chartSource(in.ChartSource), name, naming.EastWestRelease, charts.Gateway, in.IstioVersion, values)
	if rel != nil {
		state.ReleaseStatus = rel.Status
	}
	if err != nil {
		return state, err
	}

	p.GetLogger(ctx).InfoStatusf("%s: applying Gateway %s/%s", name, naming.IstioNamespace, naming.CrossNetworkGateway)
	if err := applyOwned(ctx, client, w, crossNetworkGateway(), deref(in.Adopt)); err != nil {
		return state, wrapCluster(name, fmt.Errorf("applying Gateway %s/%s: %w", naming.IstioNamespace, naming.CrossNetworkGateway, err))
	}
	state.GatewayPresent = true
	// The adopted gateway rolls onto the chart's pods; istioctl's service
	// account goes only once no pod of the old ones runs with it (also on
	// a retry, when the Deployment is already the release's).
	if deref(in.Adopt) {
		if err := client.WaitForDeployment(ctx, naming.IstioNamespace, naming.EastWestDeployment, report); err != nil {
			return state, wrapCluster(name, err)
		}
		if err := dropIstioctlGateway(ctx, client, name); err != nil {
			return state, wrapCluster(name, err)
		}
	}

	if a := deref(in.GatewayAddress); a != "" {
		state.Address = a
		return state, nil
	}
	if !deref(in.WaitForAddress) {
		state.Address, err = client.ServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService)
		return state, wrapCluster(name, err)
	}
	if err := client.WaitForDeployment(ctx, naming.IstioNamespace, naming.EastWestDeployment, report); err != nil {
		return state, wrapCluster(name, err)
	}
	state.Address, err = client.WaitForServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService, report)
	return state, wrapCluster(name, err)
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

// Read notices a removed release or Gateway, and a changed address.
func (r *EastWestGateway) Read(ctx context.Context, req infer.ReadRequest[EastWestGatewayArgs, EastWestGatewayState]) (infer.ReadResponse[EastWestGatewayArgs, EastWestGatewayState], error) {
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // refresh is bounded like the writes
	defer cancel()
	state := req.State
	name := state.Cluster.Name
	fail := func(err error) (infer.ReadResponse[EastWestGatewayArgs, EastWestGatewayState], error) {
		return infer.ReadResponse[EastWestGatewayArgs, EastWestGatewayState]{}, wrapCluster(name, err)
	}
	hc, err := r.deps.helmClient(ctx, state.Cluster, writer{owner: req.ID})
	if err != nil {
		return fail(err)
	}
	if state.ReleaseStatus, _, err = releaseStatus(ctx, hc, naming.EastWestRelease); err != nil {
		return fail(err)
	}
	client, err := r.deps.kubeClient(state.Cluster)
	if err != nil {
		return fail(err)
	}
	gw, err := client.Get(ctx, gatewayGVK, naming.IstioNamespace, naming.CrossNetworkGateway)
	if err != nil {
		return fail(err)
	}
	state.GatewayPresent = gw != nil
	if deref(state.GatewayAddress) == "" {
		if state.Address, err = client.ServiceAddress(ctx, naming.IstioNamespace, naming.EastWestService); err != nil {
			return fail(err)
		}
	}
	return infer.ReadResponse[EastWestGatewayArgs, EastWestGatewayState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes the Gateway, then the release.
func (r *EastWestGateway) Delete(ctx context.Context, req infer.DeleteRequest[EastWestGatewayState]) (infer.DeleteResponse, error) {
	c := req.State.Cluster
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds)
	defer cancel()
	client, err := r.deps.kubeClient(c)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	w := writerOf(req.State, req.ID, true)
	if err := deleteManaged(ctx, client, w, gatewayGVK, naming.IstioNamespace, naming.CrossNetworkGateway); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	hc, err := r.deps.helmClient(ctx, c, w)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if err := uninstallOwned(ctx, hc, w, c.Name, naming.EastWestRelease); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
