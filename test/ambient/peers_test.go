package ambient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"


	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// networkGateway is one entry of istiod's /debug/networkz.
type networkGateway struct {
	Network, Cluster, Addr string
	Port, HBONEPort        int
}

// TestPeersSeeEachOthersEastWestGateway: two ambient clusters on two
// networks, each with its east-west Gateway and a remote secret for the
// other. Each real istiod must then list, in /debug/networkz, the peer's
// gateway at the address the peer's istiod wrote into that Gateway's
// status, on HBONE port 15008: what ambient multi-network routing needs.
func TestPeersSeeEachOthersEastWestGateway(t *testing.T) {
	start := time.Now()
	w := localcluster.StartT(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	w.RunKubelet(ctx)
	// IPs: a hostname address would have to resolve in istiod's DNS to be
	// listed (see TestIstiodDeploysTheEastWestGateway).
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	t.Logf("2 local clusters up in %s", time.Since(start).Round(time.Millisecond))

	addresses := map[string]string{} // cluster → its gateway's address
	for _, lc := range w.Clusters {
		c := kubeClient(t, w, lc)
		installGatewayAPI(ctx, t, c)
		installAmbientIstio(ctx, t, w, lc, naming.DefaultNetwork(lc.Name))
		if err := c.Apply(ctx, gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: naming.DefaultNetwork(lc.Name)})); err != nil {
			t.Fatal(err)
		}
		waitFor(ctx, t, lc.Name+": Gateway programmed", func() (bool, string) {
			live, err := c.Get(ctx, gatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
			if err != nil || live == nil {
				return false, fmt.Sprint(err)
			}
			s := gatewayapi.ReadGatewayStatus(live)
			if s.Programmed && len(s.Addresses) == 1 {
				addresses[lc.Name] = s.Addresses[0]
				return true, ""
			}
			return false, s.String()
		})
	}
	t.Logf("gateways %v, after %s", addresses, time.Since(start).Round(time.Millisecond))

	joinAll(ctx, t, w)

	for _, watcher := range w.Clusters {
		step := time.Now()
		c := kubeClient(t, w, watcher)
		var answer string
		waitFor(ctx, t, watcher.Name+": networkz lists every gateway on 15008", func() (bool, string) {
			ds, err := istiod.Ask(ctx, c, "")
			if err != nil || len(ds) == 0 {
				return false, fmt.Sprint("ask istiod: ", err)
			}
			if ds[0].NetworkzErr != nil {
				return false, ds[0].NetworkzErr.Error()
			}
			answer = string(ds[0].Networkz)
			var gws []networkGateway
			if err := json.Unmarshal(ds[0].Networkz, &gws); err != nil {
				return false, fmt.Sprintf("%v: %s", err, answer)
			}
			for _, lc := range w.Clusters {
				found := false
				for _, g := range gws {
					found = found || (g.Cluster == lc.Name && g.Network == naming.DefaultNetwork(lc.Name) && g.Addr == addresses[lc.Name] && g.HBONEPort == gatewayapi.HBONEPort)
				}
				if !found {
					return false, fmt.Sprintf("no gateway of %s at %s:%d in %s; clusterz %s", lc.Name, addresses[lc.Name], gatewayapi.HBONEPort, answer, strings.TrimSpace(string(ds[0].Clusterz)))
				}
			}
			return true, ""
		})
		t.Logf("%s: /debug/networkz after %s: %s", watcher.Name, time.Since(step).Round(time.Millisecond), answer)
	}
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}
