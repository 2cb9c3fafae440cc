package gatewayapi_test

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

func TestEastWestGateway(t *testing.T) {
	const guide = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: istio-eastwestgateway
  namespace: istio-system
  labels:
    topology.istio.io/network: network1
    app.kubernetes.io/managed-by: ristio
spec:
  gatewayClassName: istio-east-west
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
    tls:
      mode: Terminate
      options:
        gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL
`
	tests := map[string]struct {
		opts     gatewayapi.EastWestGatewayOptions
		revLabel any
	}{
		"the guide's Gateway, labelled with the network": {gatewayapi.EastWestGatewayOptions{Network: "network1"}, nil},
		"a revision labels it istio.io/rev":              {gatewayapi.EastWestGatewayOptions{Network: "network1", Revision: "1-30"}, "1-30"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var want map[string]any
			if err := yaml.Unmarshal([]byte(guide), &want); err != nil {
				t.Fatal(err)
			}
			if tt.revLabel != nil {
				want["metadata"].(map[string]any)["labels"].(map[string]any)["istio.io/rev"] = tt.revLabel
			}
			got := gatewayapi.EastWestGateway(tt.opts)
			// Compare in YAML's own types, as the API server would read it.
			raw, err := yaml.Marshal(got.Object)
			if err != nil {
				t.Fatal(err)
			}
			var gotBack map[string]any
			if err := yaml.Unmarshal(raw, &gotBack); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotBack, want) {
				t.Errorf("EastWestGateway() =\n%s\nwant\n%s", raw, guide)
			}
			if got.GroupVersionKind().GroupVersion() != gatewayapi.GatewayGVR.GroupVersion() {
				t.Errorf("GroupVersion %v", got.GroupVersionKind())
			}
		})
	}
}

func TestReadGatewayStatus(t *testing.T) {
	gw := func(generation int64, status string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(status), &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetGeneration(generation)
		return u
	}
	tests := map[string]struct {
		gw   *unstructured.Unstructured
		want gatewayapi.GatewayStatus
	}{
		"no status yet": {gw(1, `{}`), gatewayapi.GatewayStatus{}},
		"programmed with addresses, sorted": {gw(2, `
status:
  addresses: [{type: IPAddress, value: 127.0.1.9}, {type: Hostname, value: a.example}]
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, observedGeneration: 2}
  - {type: Programmed, status: "True", reason: Programmed, observedGeneration: 2}
`), gatewayapi.GatewayStatus{Programmed: true, Reason: "Programmed", Addresses: []string{"127.0.1.9", "a.example"}}},
		"programmed for an older generation is not programmed": {gw(3, `
status:
  conditions:
  - {type: Programmed, status: "True", reason: Programmed, observedGeneration: 2}
`), gatewayapi.GatewayStatus{Reason: "Programmed"}},
		"not programmed says why": {gw(1, `
status:
  conditions:
  - {type: Programmed, status: "False", reason: AddressNotAssigned, message: no address yet, observedGeneration: 1}
`), gatewayapi.GatewayStatus{Reason: "AddressNotAssigned", Message: "no address yet"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := gatewayapi.ReadGatewayStatus(tt.gw); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadGatewayStatus() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
