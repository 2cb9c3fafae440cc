package ambient_test

import (
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestWithoutMultiNetworkIstiodIgnoresTheEastWestGateway is the control for
// TestIstiodDeploysTheEastWestGateway, and why CheckAmbientOverrides refuses
// AMBIENT_ENABLE_MULTI_NETWORK turned off: an ambient istiod without it
// creates no istio-east-west GatewayClass and deploys nothing for the
// east-west Gateway, whose status keeps the CRD's defaults (Accepted and
// Programmed Unknown, "Waiting for controller").
func TestWithoutMultiNetworkIstiodIgnoresTheEastWestGateway(t *testing.T) {
	start := time.Now()
	w, ctx := startWorld(t, 1)
	lc := w.Clusters[0]
	c := kubeClient(t, w, lc)
	installGatewayAPI(ctx, t, c)
	off := map[string]any{"env": map[string]any{helmvalues.AmbientMultiNetworkEnv: "false"}}
	if err := helmvalues.CheckAmbientOverrides(off); err == nil {
		t.Error("CheckAmbientOverrides accepts the switch turned off")
	}
	installAmbientIstioWith(ctx, t, w, lc, network, "", off)
	if err := c.Apply(ctx, gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: network})); err != nil {
		t.Fatal(err)
	}
	// With the switch on, all of this happens within about a second.
	time.Sleep(10 * time.Second)
	if gc, err := c.Get(ctx, gatewayapi.GatewayClassGVK, "", gatewayapi.EastWestClass); err != nil || gc != nil {
		t.Errorf("GatewayClass %s: %v (err %v), want none", gatewayapi.EastWestClass, gc != nil, err)
	}
	if _, err := lc.Client.AppsV1().Deployments(naming.IstioNamespace).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment for the Gateway: %v, want none", err)
	}
	live, err := c.Get(ctx, gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
	if err != nil || live == nil {
		t.Fatalf("Gateway: %v", err)
	}
	s := gatewayapi.ReadGatewayStatus(live)
	if s.Programmed || len(s.Addresses) > 0 {
		t.Errorf("Gateway status %s, want not programmed and no address", s)
	}
	t.Logf("without %s after 10 s: no class, no Deployment, Gateway status %v; whole test %s",
		helmvalues.AmbientMultiNetworkEnv, live.Object["status"], time.Since(start).Round(time.Millisecond))
}
