package meshcheck

import (
	"strings"
	"testing"
)

// ambientNetworkz is what the pinned istiod answered in the local world
// (test/ambient) for a peer's ambient east-west Gateway: no mTLS port, the
// HBONE port 15008.
const ambientNetworkz = `[{"Network":"network-cluster1","Cluster":"cluster1","Addr":"127.0.1.1","Port":0,"HBONEPort":15008,"ServiceAccount":{"Namespace":"","Name":""}},` +
	`{"Network":"network-cluster2","Cluster":"cluster2","Addr":"127.0.1.2","Port":0,"HBONEPort":15008,"ServiceAccount":{"Namespace":"","Name":""}}]`

func TestEvaluateAmbientGateway(t *testing.T) {
	tests := map[string]struct {
		ambient  bool
		networkz string
		want     string // substring of cluster2's status; "" means synced
	}{
		"an ambient peer known on its HBONE port": {ambient: true, networkz: ambientNetworkz},
		"an ambient peer is not judged by the sidecar port": {
			ambient: true, networkz: gatewayNetworkz,
			want: "does not know cluster2's gateway at 127.0.1.2:15008 on network network-cluster2 (it knows 127.0.1.2:0)",
		},
		"a sidecar peer is not judged by the HBONE port": {
			networkz: ambientNetworkz,
			want:     "does not know cluster2's gateway at 127.0.1.2:15443 on network network-cluster2 (it knows 127.0.1.2:0)",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			exp, d := fixture(t)
			exp.Peers[0].Ambient = tt.ambient
			d.Networkz = []byte(tt.networkz)
			got := Evaluate(exp, []Istiod{d}).Peers["cluster2"]
			if tt.want == "" {
				if got != Synced {
					t.Errorf("cluster2: %s, want %s", got, Synced)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("cluster2: %s\nwant it to contain %q", got, tt.want)
			}
		})
	}
}
