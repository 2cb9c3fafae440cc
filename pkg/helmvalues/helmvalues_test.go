package helmvalues_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
)

// get walks a path of map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: %T is not a map", k, v)
			}
			v, ok = m[k]
			if !ok {
				return missing{}
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at [%d]: %T is not a long enough list", k, v)
			}
			v = l[k]
		}
	}
	return v
}

type missing struct{}

type check struct {
	path []any
	want any
}

func TestBase(t *testing.T) {
	tests := map[string]struct {
		revision string
		want     map[string]any
	}{
		"no revision points the default validator at istiod": {"", map[string]any{"defaultRevision": "default"}},
		"a revision points it at istiod-<revision>":          {"1-29", map[string]any{"defaultRevision": "1-29"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := helmvalues.Base(tt.revision); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Base(%q) = %v, want %v", tt.revision, got, tt.want)
			}
		})
	}
}

func TestIstiod(t *testing.T) {
	tests := map[string]struct {
		opts   helmvalues.IstiodOptions
		checks []check
	}{
		"the guide's three settings": {
			opts: helmvalues.IstiodOptions{MeshID: "mesh1", Cluster: "cluster1", Network: "network1"},
			checks: []check{
				{[]any{"global", "meshID"}, "mesh1"},
				{[]any{"global", "multiCluster", "clusterName"}, "cluster1"},
				{[]any{"global", "network"}, "network1"},
				{[]any{"revision"}, missing{}},
				{[]any{"global", "tag"}, missing{}},
				{[]any{"global", "hub"}, missing{}},
				{[]any{"global", "meshNetworks"}, missing{}},
			},
		},
		"revision, hub and tag when set": {
			opts: helmvalues.IstiodOptions{MeshID: "m", Cluster: "c", Network: "n", Revision: "1-29", Hub: "docker.io/istio", Tag: "1.29.0"},
			checks: []check{
				{[]any{"revision"}, "1-29"},
				{[]any{"global", "tag"}, "1.29.0"},
				{[]any{"global", "hub"}, "docker.io/istio"},
			},
		},
		"meshNetworks only for networks with a fixed gateway address": {
			opts: helmvalues.IstiodOptions{MeshID: "m", Cluster: "c1", Network: "n1", MeshNetworks: []helmvalues.MeshNetwork{
				{Network: "n2", Cluster: "c2", GatewayAddress: "10.0.0.2"},
				{Network: "n1", Cluster: "c1"},
			}},
			checks: []check{
				{[]any{"global", "meshNetworks", "n1"}, missing{}},
				{[]any{"global", "meshNetworks", "n2", "endpoints"}, []any{map[string]any{"fromRegistry": "c2"}}},
				{[]any{"global", "meshNetworks", "n2", "gateways"}, []any{map[string]any{"address": "10.0.0.2", "port": 15443}}},
			},
		},
		"overrides win and reach deep": {
			opts: helmvalues.IstiodOptions{MeshID: "m", Cluster: "c", Network: "n", Tag: "1.29.0", Overrides: map[string]any{
				"global": map[string]any{"tag": "1.29.1", "proxy": map[string]any{"clusterDomain": "example.local"}},
				"pilot":  map[string]any{"autoscaleEnabled": false},
			}},
			checks: []check{
				{[]any{"global", "tag"}, "1.29.1"},
				{[]any{"global", "meshID"}, "m"},
				{[]any{"global", "proxy", "clusterDomain"}, "example.local"},
				{[]any{"pilot", "autoscaleEnabled"}, false},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := helmvalues.Istiod(tt.opts)
			for _, c := range tt.checks {
				if v := get(t, got, c.path...); !reflect.DeepEqual(v, c.want) {
					t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
				}
			}
		})
	}
}

func TestMeshNetworks(t *testing.T) {
	tests := map[string]struct {
		in   []helmvalues.MeshNetwork
		want map[string]any
	}{
		"nothing fixed gives nil": {
			in:   []helmvalues.MeshNetwork{{Network: "n1", Cluster: "c1"}},
			want: nil,
		},
		"clusters sharing a network are all endpoints, gateways sorted and deduplicated": {
			in: []helmvalues.MeshNetwork{
				{Network: "n1", Cluster: "c3", GatewayAddress: "gw.example.com", GatewayPort: 443},
				{Network: "n1", Cluster: "c1", GatewayAddress: "10.0.0.9"},
				{Network: "n1", Cluster: "c2"},
				{Network: "n1", Cluster: "c1", GatewayAddress: "10.0.0.9"},
				{Network: "n2", Cluster: "c4", GatewayAddress: "10.0.1.1", GatewayPort: 15443},
			},
			want: map[string]any{
				"n1": map[string]any{
					"endpoints": []any{
						map[string]any{"fromRegistry": "c1"},
						map[string]any{"fromRegistry": "c2"},
						map[string]any{"fromRegistry": "c3"},
					},
					"gateways": []any{
						map[string]any{"address": "10.0.0.9", "port": 15443},
						map[string]any{"address": "gw.example.com", "port": 443},
					},
				},
				"n2": map[string]any{
					"endpoints": []any{map[string]any{"fromRegistry": "c4"}},
					"gateways":  []any{map[string]any{"address": "10.0.1.1", "port": 15443}},
				},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := helmvalues.MeshNetworks(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MeshNetworks() = %#v\nwant %#v", got, tt.want)
			}
			// Any order of the same entries gives the same result.
			rev := make([]helmvalues.MeshNetwork, len(tt.in))
			for i, n := range tt.in {
				rev[len(tt.in)-1-i] = n
			}
			if again := helmvalues.MeshNetworks(rev); !reflect.DeepEqual(again, got) {
				t.Errorf("order of entries changes the result: %#v", again)
			}
		})
	}
}

func TestEastWestGateway(t *testing.T) {
	ports := []any{
		map[string]any{"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
		map[string]any{"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"},
		map[string]any{"name": "tls-istiod", "port": 15012, "targetPort": 15012, "protocol": "TCP"},
		map[string]any{"name": "tls-webhook", "port": 15017, "targetPort": 15017, "protocol": "TCP"},
	}
	tests := map[string]struct {
		opts   helmvalues.GatewayOptions
		checks []check
	}{
		"the network drives name, labels, variable and service": {
			opts: helmvalues.GatewayOptions{Network: "network1"},
			checks: []check{
				{[]any{"name"}, "istio-eastwestgateway"},
				{[]any{"networkGateway"}, "network1"},
				{[]any{"labels"}, map[string]any{"istio": "eastwestgateway", "app": "istio-eastwestgateway"}},
				{[]any{"env"}, missing{}},
				{[]any{"service", "type"}, "LoadBalancer"},
				{[]any{"service", "ports"}, ports},
				{[]any{"revision"}, missing{}},
				{[]any{"global"}, missing{}},
			},
		},
		"revision and tag when set": {
			opts: helmvalues.GatewayOptions{Network: "n", Revision: "1-29", Tag: "1.29.0"},
			checks: []check{
				{[]any{"revision"}, "1-29"},
				{[]any{"global", "tag"}, "1.29.0"},
			},
		},
		"overrides win: a NodePort service and an extra label": {
			opts: helmvalues.GatewayOptions{Network: "n", Overrides: map[string]any{
				"service": map[string]any{"type": "NodePort"},
				"labels":  map[string]string{"team": "mesh"},
			}},
			checks: []check{
				{[]any{"service", "type"}, "NodePort"},
				{[]any{"service", "ports", 1, "port"}, 15443},
				{[]any{"labels", "team"}, "mesh"},
				{[]any{"labels", "istio"}, "eastwestgateway"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := helmvalues.EastWestGateway(tt.opts)
			for _, c := range tt.checks {
				if v := get(t, got, c.path...); !reflect.DeepEqual(v, c.want) {
					t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
				}
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tests := map[string]struct {
		dst, src, want map[string]any
	}{
		"maps merge, src wins on scalars": {
			dst:  map[string]any{"a": 1, "m": map[string]any{"x": 1, "y": 2}},
			src:  map[string]any{"b": 2, "m": map[string]any{"y": 3, "z": 4}},
			want: map[string]any{"a": 1, "b": 2, "m": map[string]any{"x": 1, "y": 3, "z": 4}},
		},
		"lists are replaced, not appended": {
			dst:  map[string]any{"l": []any{1, 2}},
			src:  map[string]any{"l": []any{3}},
			want: map[string]any{"l": []any{3}},
		},
		"a scalar replaces a map and a map replaces a scalar": {
			dst:  map[string]any{"a": map[string]any{"x": 1}, "b": "s"},
			src:  map[string]any{"a": "flat", "b": map[string]any{"y": 2}},
			want: map[string]any{"a": "flat", "b": map[string]any{"y": 2}},
		},
		"an explicit nil is kept, for Helm to drop the chart default": {
			dst:  map[string]any{"a": map[string]any{"x": 1}},
			src:  map[string]any{"a": nil},
			want: map[string]any{"a": nil},
		},
		"typed maps and lists are normalised": {
			dst:  map[string]any{"labels": map[string]any{"a": "1"}},
			src:  map[string]any{"labels": map[string]string{"b": "2"}, "l": []string{"x"}},
			want: map[string]any{"labels": map[string]any{"a": "1", "b": "2"}, "l": []any{"x"}},
		},
		"nil inputs give an empty map": {
			dst: nil, src: nil, want: map[string]any{},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := helmvalues.Merge(tt.dst, tt.src); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Merge() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	dst := map[string]any{"m": map[string]any{"x": 1}, "l": []any{map[string]any{"k": "v"}}}
	src := map[string]any{"m": map[string]any{"y": 2}, "s": map[string]any{"deep": []any{1}}}
	got := helmvalues.Merge(dst, src)

	// Mutating the result leaves the inputs alone...
	got["m"].(map[string]any)["x"] = 100
	got["l"].([]any)[0].(map[string]any)["k"] = "changed"
	got["s"].(map[string]any)["deep"].([]any)[0] = 100
	if dst["m"].(map[string]any)["x"] != 1 || dst["l"].([]any)[0].(map[string]any)["k"] != "v" {
		t.Errorf("dst changed: %#v", dst)
	}
	if src["s"].(map[string]any)["deep"].([]any)[0] != 1 {
		t.Errorf("src changed: %#v", src)
	}
	if _, ok := dst["m"].(map[string]any)["y"]; ok {
		t.Error("merge wrote into dst")
	}

	// ...and mutating the inputs leaves the result alone.
	src["m"].(map[string]any)["y"] = 200
	if got["m"].(map[string]any)["y"] != 2 {
		t.Error("result shares a map with src")
	}
}

func TestOverridesAreNotAliased(t *testing.T) {
	overrides := map[string]any{"global": map[string]any{"proxy": map[string]any{"x": 1}}}
	v := helmvalues.Istiod(helmvalues.IstiodOptions{MeshID: "m", Overrides: overrides})
	v["global"].(map[string]any)["proxy"].(map[string]any)["x"] = 2
	if overrides["global"].(map[string]any)["proxy"].(map[string]any)["x"] != 1 {
		t.Error("Istiod's result shares maps with the overrides")
	}
	if _, ok := overrides["global"].(map[string]any)["meshID"]; ok {
		t.Error("Istiod wrote into the overrides")
	}
}

func TestValuesAreDeterministic(t *testing.T) {
	opts := helmvalues.IstiodOptions{MeshID: "m", Cluster: "c1", Network: "n1", Tag: "1.29.0", MeshNetworks: []helmvalues.MeshNetwork{
		{Network: "n1", Cluster: "c1", GatewayAddress: "1.1.1.1"}, {Network: "n2", Cluster: "c2", GatewayAddress: "2.2.2.2"},
	}}
	first := helmvalues.Istiod(opts)
	for range 20 {
		if got := helmvalues.Istiod(opts); !reflect.DeepEqual(got, first) {
			t.Fatalf("Istiod gave different values for the same options")
		}
	}
	gw := helmvalues.GatewayOptions{Network: "n1", Revision: "r"}
	if !reflect.DeepEqual(helmvalues.EastWestGateway(gw), helmvalues.EastWestGateway(gw)) {
		t.Error("EastWestGateway is not deterministic")
	}
}

func TestCheckOverrides(t *testing.T) {
	for name, tc := range map[string]struct {
		values map[string]any
		bad    string
	}{
		"none":                       {},
		"other env":                  {values: map[string]any{"env": map[string]any{"PILOT_TRACE_SAMPLING": "1"}}},
		"multi-root kept on":         {values: map[string]any{"env": map[string]any{helmvalues.MultiRootEnv: "true"}}},
		"multi-root on as a bool":    {values: map[string]any{"pilot": map[string]any{"env": map[string]any{helmvalues.MultiRootEnv: true}}}},
		"multi-root off":             {values: map[string]any{"env": map[string]any{helmvalues.MultiRootEnv: "false"}}, bad: `env.ISTIO_MULTIROOT_MESH is "false"`},
		"multi-root off under pilot": {values: map[string]any{"pilot": map[string]any{"env": map[string]any{helmvalues.MultiRootEnv: false}}}, bad: `pilot.env.ISTIO_MULTIROOT_MESH is "false"`},
		"multi-root emptied":         {values: map[string]any{"env": map[string]any{helmvalues.MultiRootEnv: ""}}, bad: `env.ISTIO_MULTIROOT_MESH is ""`},
	} {
		err := helmvalues.CheckOverrides(tc.values)
		if tc.bad == "" && err != nil || tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("%s: CheckOverrides = %v, want %q", name, err, tc.bad)
		}
	}
}
