package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState] = (*AmbientEastWestGateway)(nil)
	_ infer.CustomCheck[AmbientEastWestGatewayArgs]                                 = (*AmbientEastWestGateway)(nil)
	_ infer.CustomDiff[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState]     = (*AmbientEastWestGateway)(nil)
	_ infer.CustomUpdate[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState]   = (*AmbientEastWestGateway)(nil)
	_ infer.CustomRead[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState]     = (*AmbientEastWestGateway)(nil)
	_ infer.CustomDelete[AmbientEastWestGatewayState]                               = (*AmbientEastWestGateway)(nil)
)

// ambientGatewayKube is what the gateway asks of its cluster's API server.
type ambientGatewayKube interface {
	objectClient
	WaitForGatewayAddress(ctx context.Context, ns, name string, progress kube.Progress) (string, error)
}

// Check validates the connection and network.
func (r *AmbientEastWestGateway) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[AmbientEastWestGatewayArgs], error) {
	return checkInputs(ctx, req, func(args AmbientEastWestGatewayArgs, _ *AmbientEastWestGatewayArgs) []p.CheckFailure {
		failures := checkConnection("cluster", req.NewInputs, args.Cluster)
		return append(failures, checkNetwork(args.Cluster.Name, args.Network)...)
	})
}

// newAmbientEastWestGateway builds the resource; a Gateway deleted by hand
// is an update that writes it again.
func newAmbientEastWestGateway(deps Deps) *AmbientEastWestGateway {
	r := &AmbientEastWestGateway{deps: deps}
	r.clusterResource = clusterResource[AmbientEastWestGatewayArgs, AmbientEastWestGatewayState, ambientGatewayKube]{
		connect: connectKube[ambientGatewayKube](deps),
		claims:  deps,
		takeover: func(AmbientEastWestGatewayArgs, *AmbientEastWestGatewayState) takeover {
			return takeover{objects: []objectRef{{gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName}}}
		},
		drift: func(s AmbientEastWestGatewayState) map[string]bool {
			return map[string]bool{"gatewayPresent": !s.GatewayPresent}
		},
		apply: applyAmbientGateway, read: readAmbientGateway, remove: removeAmbientGateway, preview: previewAmbientGateway,
	}
	return r
}

// previewAmbientGateway says, for an update that moves the Gateway to
// another revision, that the new revision's istiod re-deploys it.
func previewAmbientGateway(ctx context.Context, in AmbientEastWestGatewayArgs, prior *AmbientEastWestGatewayState) AmbientEastWestGatewayState {
	if prior == nil {
		return AmbientEastWestGatewayState{AmbientEastWestGatewayArgs: in}
	}
	if deref(in.Revision) != deref(prior.Revision) {
		p.GetLogger(ctx).Warningf("cluster %s: the east-west Gateway moves to revision %s: %s re-deploys it and its pods restart",
			in.Cluster.Name, naming.RevisionLabelValue(deref(in.Revision)), naming.IstiodDeployment(deref(in.Revision)))
	}
	return withArgs(*prior, in)
}

// applyAmbientGateway writes the Gateway and waits for istiod to program it
// with an address; it has touched the cluster once the Gateway is written.
func applyAmbientGateway(ctx context.Context, c ambientGatewayKube, w writer, in AmbientEastWestGatewayArgs, _ *AmbientEastWestGatewayState) (AmbientEastWestGatewayState, bool, error) {
	state := AmbientEastWestGatewayState{AmbientEastWestGatewayArgs: in}
	name := in.Cluster.Name
	gw := gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: in.Network, Revision: deref(in.Revision)})
	p.GetLogger(ctx).InfoStatusf("%s: applying Gateway %s/%s", name, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
	if err := applyOwned(ctx, c, w, gw, false); err != nil {
		return state, false, fmt.Errorf("applying Gateway %s/%s: %w", naming.IstioNamespace, gatewayapi.EastWestGatewayName, err)
	}
	state.GatewayPresent = true
	if in.WaitForAddress != nil && !*in.WaitForAddress {
		s, err := readAmbientGateway(ctx, c, state)
		return s, true, err
	}
	addr, err := c.WaitForGatewayAddress(ctx, naming.IstioNamespace, gatewayapi.EastWestGatewayName, progress(ctx, name))
	if err != nil {
		return state, true, err
	}
	state.Address, state.Programmed = addr, true
	return state, true, nil
}

// readAmbientGateway notices a removed Gateway and follows its status.
func readAmbientGateway(ctx context.Context, c ambientGatewayKube, s AmbientEastWestGatewayState) (AmbientEastWestGatewayState, error) {
	gw, err := c.Get(ctx, gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
	if err != nil {
		return s, err
	}
	s.GatewayPresent = gw != nil
	s.Programmed, s.Address = false, ""
	if gw != nil {
		status := gatewayapi.ReadGatewayStatus(gw)
		s.Programmed = status.Programmed
		if len(status.Addresses) > 0 {
			s.Address = status.Addresses[0]
		}
	}
	return s, nil
}

// removeAmbientGateway deletes the Gateway; the Deployment, Service and
// ServiceAccount istiod made for it go with it (it owns them). They carry
// the Gateway's labels, ristio's managed-by among them, but ristio never
// deletes them itself.
func removeAmbientGateway(ctx context.Context, c ambientGatewayKube, w writer, _ AmbientEastWestGatewayState) error {
	return deleteManaged(ctx, c, w, gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
}
