package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

var (
	_ infer.CustomResource[GatewayAPICRDsArgs, GatewayAPICRDsState] = (*GatewayAPICRDs)(nil)
	_ infer.CustomCheck[GatewayAPICRDsArgs]                         = (*GatewayAPICRDs)(nil)
	_ infer.CustomDiff[GatewayAPICRDsArgs, GatewayAPICRDsState]     = (*GatewayAPICRDs)(nil)
	_ infer.CustomUpdate[GatewayAPICRDsArgs, GatewayAPICRDsState]   = (*GatewayAPICRDs)(nil)
	_ infer.CustomRead[GatewayAPICRDsArgs, GatewayAPICRDsState]     = (*GatewayAPICRDs)(nil)
	_ infer.CustomDelete[GatewayAPICRDsState]                       = (*GatewayAPICRDs)(nil)
)

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// gatewayAPICRDsKube is what the CRDs ask of a cluster's API server.
type gatewayAPICRDsKube interface {
	objectClient
	CountObjects(ctx context.Context, gvk schema.GroupVersionKind) (int, error)
	DeploymentNames(ctx context.Context, ns, selector string) ([]string, error)
}

// istioGatewayClasses are the GatewayClasses an ambient istiod makes for
// itself (none owned by anything): they outlive istiod, and would keep the
// gatewayclasses CRD in use.
var istioGatewayClasses = []string{"istio", "istio-remote", "istio-waypoint", gatewayapi.EastWestClass}

// dropIstioGatewayClasses deletes the GatewayClasses istiod made, once no
// istiod runs in any namespace of the cluster and no Gateway is left to use
// them; a class of that name another controller made is left alone.
func dropIstioGatewayClasses(ctx context.Context, c gatewayAPICRDsKube, cluster string) error {
	istiods, err := c.DeploymentNames(ctx, metav1.NamespaceAll, "app=istiod")
	if err != nil {
		return err
	}
	gateways, err := c.CountObjects(ctx, gatewayapi.GatewayGVK)
	if err != nil || len(istiods) > 0 || gateways > 0 {
		return err
	}
	for _, name := range istioGatewayClasses {
		gc, err := c.Get(ctx, gatewayapi.GatewayClassGVK, "", name)
		if err != nil {
			return err
		}
		if gc == nil {
			continue
		}
		if ctrl, _, _ := unstructured.NestedString(gc.Object, "spec", "controllerName"); !strings.HasPrefix(ctrl, "istio.io/") {
			continue
		}
		p.GetLogger(ctx).Infof("cluster %s: deleting GatewayClass %s, left by the istiod ristio removed", cluster, name)
		if err := c.Delete(ctx, gatewayapi.GatewayClassGVK, "", name); err != nil {
			return err
		}
	}
	return nil
}

// Check validates the connection.
func (r *GatewayAPICRDs) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[GatewayAPICRDsArgs], error) {
	return checkInputs(ctx, req, func(args GatewayAPICRDsArgs, _ *GatewayAPICRDsArgs) []p.CheckFailure {
		return checkConnection("cluster", req.NewInputs, args.Cluster)
	})
}

// newGatewayAPICRDs builds the resource; a CRD it installed and found
// missing by refresh is an update that installs it again.
func newGatewayAPICRDs(deps Deps) *GatewayAPICRDs {
	r := &GatewayAPICRDs{deps: deps}
	r.clusterResource = clusterResource[GatewayAPICRDsArgs, GatewayAPICRDsState, gatewayAPICRDsKube]{
		connect:  connectKube[gatewayAPICRDsKube](deps),
		claims:   crdClaims{deps},
		takeover: func(GatewayAPICRDsArgs, *GatewayAPICRDsState) takeover { return takeover{} },
		drift:    func(s GatewayAPICRDsState) map[string]bool { return map[string]bool{"missing": len(s.Missing) > 0} },
		apply:    applyCRDs, read: readCRDs, remove: removeCRDs,
	}
	return r
}

// crdClaims adds to the shared preview the CRD rule: preview fails on a
// CRD up would refuse.
type crdClaims struct{ Deps }

func (c crdClaims) previewClaims(ctx context.Context, conn ClusterConnection, adopt *bool, w writer, t takeover) error {
	client, err := c.kubeClient(conn)
	if err != nil {
		p.GetLogger(ctx).Warningf("cluster %s: preview cannot check the Gateway API CRDs there (up will): %v", conn.Name, err)
		return nil
	}
	plan, err := planCRDs(ctx, client)
	if err != nil {
		p.GetLogger(ctx).Warningf("cluster %s: preview cannot check the Gateway API CRDs there (up will): %v", conn.Name, err)
		return nil
	}
	for _, step := range plan {
		p.GetLogger(ctx).Infof("cluster %s: %s", conn.Name, step.decision.Reason)
		if step.decision.Action == gatewayapi.Refuse {
			return wrapCluster(conn.Name, fmt.Errorf("%s", step.decision.Reason))
		}
	}
	return c.Deps.previewClaims(ctx, conn, adopt, w, t)
}

// crdStep is what to do with one pinned CRD.
type crdStep struct {
	crd      *unstructured.Unstructured
	decision gatewayapi.Decision
}

// planCRDs decides, for each pinned CRD, what the cluster's copy calls for.
func planCRDs(ctx context.Context, client objectClient) ([]crdStep, error) {
	var plan []crdStep
	for _, crd := range gatewayapi.CRDs() {
		live, err := client.Get(ctx, crdGVK, "", crd.GetName())
		if err != nil {
			return nil, fmt.Errorf("reading CRD %s: %w", crd.GetName(), err)
		}
		plan = append(plan, crdStep{crd, gatewayapi.Decide(gatewayapi.Version(), gatewayapi.InstalledFrom(crd.GetName(), live))})
	}
	return plan, nil
}

// applyCRDs installs what is absent and upgrades what ristio installed
// before; nothing is written when any CRD is refused. A CRD this resource
// created before stays its own, even when kept now.
func applyCRDs(ctx context.Context, c gatewayAPICRDsKube, w writer, in GatewayAPICRDsArgs, prior *GatewayAPICRDsState) (GatewayAPICRDsState, bool, error) {
	state := GatewayAPICRDsState{GatewayAPICRDsArgs: in, Version: gatewayapi.Version(), Created: []string{}, Kept: []string{}}
	var mine []string
	if prior != nil {
		mine = prior.Created
	}
	plan, err := planCRDs(ctx, c)
	if err != nil {
		return state, false, err
	}
	for _, step := range plan {
		if step.decision.Action == gatewayapi.Refuse {
			return state, false, fmt.Errorf("%s", step.decision.Reason)
		}
	}
	touched := false
	for _, step := range plan {
		name := step.crd.GetName()
		switch step.decision.Action {
		case gatewayapi.Create, gatewayapi.Upgrade:
			p.GetLogger(ctx).InfoStatusf("%s: %s", in.Cluster.Name, step.decision.Reason)
			if err := applyOwned(ctx, c, w, step.crd, false); err != nil {
				return state, touched, fmt.Errorf("applying CRD %s: %w", name, err)
			}
			touched = true
			state.Created = append(state.Created, name)
		case gatewayapi.Keep:
			if slices.Contains(mine, name) {
				state.Created = append(state.Created, name)
			} else {
				state.Kept = append(state.Kept, name)
			}
		}
	}
	return state, touched, nil
}

// readCRDs notices a CRD this resource installed and someone deleted.
func readCRDs(ctx context.Context, c gatewayAPICRDsKube, s GatewayAPICRDsState) (GatewayAPICRDsState, error) {
	s.Missing = nil
	for _, name := range s.Created {
		live, err := c.Get(ctx, crdGVK, "", name)
		if err != nil {
			return s, fmt.Errorf("reading CRD %s: %w", name, err)
		}
		if live == nil {
			s.Missing = append(s.Missing, name)
		}
	}
	return s, nil
}

// removeCRDs deletes the CRDs this resource installed that no object uses
// (gatewayapi.MayDelete): deleting a CRD deletes every object of its kind.
func removeCRDs(ctx context.Context, c gatewayAPICRDsKube, w writer, s GatewayAPICRDsState) error {
	logger := p.GetLogger(ctx)
	if slices.Contains(s.Created, "gatewayclasses."+gatewayapi.Group) {
		if err := dropIstioGatewayClasses(ctx, c, s.Cluster.Name); err != nil {
			return err
		}
	}
	for _, name := range s.Created {
		live, err := c.Get(ctx, crdGVK, "", name)
		if err != nil {
			return fmt.Errorf("reading CRD %s: %w", name, err)
		}
		inUse := 0
		if live != nil {
			if inUse, err = c.CountObjects(ctx, servedKind(live)); err != nil {
				return err
			}
		}
		ok, why := gatewayapi.MayDelete(gatewayapi.InstalledFrom(name, live), inUse)
		logger.Infof("cluster %s: %s", s.Cluster.Name, why)
		if !ok {
			continue
		}
		if err := deleteManaged(ctx, c, w, crdGVK, "", name); err != nil {
			return err
		}
	}
	return nil
}

// servedKind is the kind a CRD defines, at its storage version.
func servedKind(crd *unstructured.Unstructured) schema.GroupVersionKind {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	version := ""
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if name, _ := m["name"].(string); name != "" && (version == "" || m["storage"] == true) {
			version = name
		}
	}
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}
