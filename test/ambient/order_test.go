package ambient_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestCRDsInstalledAfterIstiod: an ambient istiod started before the
// Gateway API CRDs exist picks them up once they are installed, without a
// restart, and deploys and programs the east-west Gateway as usual: ristio
// need not order the CRDs before istiod, nor restart istiod after them.
func TestCRDsInstalledAfterIstiod(t *testing.T) {
	start := time.Now()
	w, ctx := startWorld(t, 1)
	lc := w.Clusters[0]
	c := kubeClient(t, w, lc)
	installAmbientIstio(ctx, t, w, lc, network)
	time.Sleep(3 * time.Second)
	installGatewayAPI(ctx, t, c)
	waitFor(ctx, t, "GatewayClass "+gatewayapi.EastWestClass, func() (bool, string) {
		gc, err := c.Get(ctx, gatewayapi.GatewayClassGVK, "", gatewayapi.EastWestClass)
		return err == nil && gc != nil, fmt.Sprint("absent: ", err)
	})
	step := time.Now()
	if err := c.Apply(ctx, gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: network})); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "Gateway programmed", func() (bool, string) {
		live, err := c.Get(ctx, gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
		if err != nil || live == nil {
			return false, fmt.Sprint(err)
		}
		s := gatewayapi.ReadGatewayStatus(live)
		return s.Programmed && len(s.Addresses) == 1, s.String()
	})
	t.Logf("programmed %s after the Gateway; whole test %s", time.Since(step).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
