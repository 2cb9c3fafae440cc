package ambient_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

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
	w, ctx := startWorld(t, 2)
	addresses := ambientPeers(ctx, t, w)
	t.Logf("gateways %v, after %s", addresses, time.Since(start).Round(time.Millisecond))

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
