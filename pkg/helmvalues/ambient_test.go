package helmvalues_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
)

func TestAmbientIstiod(t *testing.T) {
	base := helmvalues.IstiodOptions{MeshID: "mesh1", Cluster: "cluster1", Network: "network1"}
	tests := map[string]struct {
		opts   helmvalues.AmbientIstiodOptions
		checks []check
	}{
		"the guide's settings on top of the sidecar mesh's": {
			opts: helmvalues.AmbientIstiodOptions{IstiodOptions: base},
			checks: []check{
				{[]any{"profile"}, "ambient"},
				{[]any{"global", "meshID"}, "mesh1"},
				{[]any{"global", "multiCluster", "clusterName"}, "cluster1"},
				{[]any{"global", "network"}, "network1"},
				{[]any{"env", "AMBIENT_ENABLE_MULTI_NETWORK"}, "true"},
				{[]any{"env", "AMBIENT_ENABLE_BAGGAGE"}, "true"},
				{[]any{"env", "AMBIENT_ENABLE_MULTI_NETWORK_INGRESS"}, "false"},
				{[]any{"env", "ISTIO_MULTIROOT_MESH"}, "true"},
			},
		},
		"ingress across networks when asked": {
			opts: helmvalues.AmbientIstiodOptions{IstiodOptions: base, IngressAcrossNetworks: true},
			checks: []check{
				{[]any{"env", "AMBIENT_ENABLE_MULTI_NETWORK_INGRESS"}, "true"},
			},
		},
		"the user's overrides win over the ambient settings too": {
			opts: func() helmvalues.AmbientIstiodOptions {
				o := base
				o.Revision = "1-30"
				o.Overrides = map[string]any{"env": map[string]any{"AMBIENT_ENABLE_BAGGAGE": "false"}}
				return helmvalues.AmbientIstiodOptions{IstiodOptions: o}
			}(),
			checks: []check{
				{[]any{"env", "AMBIENT_ENABLE_BAGGAGE"}, "false"},
				{[]any{"env", "AMBIENT_ENABLE_MULTI_NETWORK"}, "true"},
				{[]any{"revision"}, "1-30"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := helmvalues.AmbientIstiod(tt.opts)
			for _, c := range tt.checks {
				if v := get(t, got, c.path...); !reflect.DeepEqual(v, c.want) {
					t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
				}
			}
			if tt.opts.Overrides != nil && !reflect.DeepEqual(helmvalues.AmbientIstiod(tt.opts), got) {
				t.Error("not deterministic")
			}
		})
	}
}

func TestCNIAndZtunnel(t *testing.T) {
	tests := map[string]struct {
		got    map[string]any
		checks []check
	}{
		"cni: the ambient profile only": {
			got: helmvalues.CNI(helmvalues.CNIOptions{}),
			checks: []check{
				{[]any{"profile"}, "ambient"},
				{[]any{"global"}, missing{}},
				{[]any{"revision"}, missing{}},
			},
		},
		"cni: image and revision when set, overrides last": {
			got: helmvalues.CNI(helmvalues.CNIOptions{Hub: "docker.io/istio", Tag: "1.30.0", Revision: "1-30", Overrides: map[string]any{"global": map[string]any{"tag": "1.30.1"}}}),
			checks: []check{
				{[]any{"global", "hub"}, "docker.io/istio"},
				{[]any{"global", "tag"}, "1.30.1"},
				{[]any{"revision"}, "1-30"},
			},
		},
		"ztunnel: cluster and network, nothing else": {
			got: helmvalues.Ztunnel(helmvalues.ZtunnelOptions{Cluster: "cluster1", Network: "network1"}),
			checks: []check{
				{[]any{"multiCluster", "clusterName"}, "cluster1"},
				{[]any{"global", "network"}, "network1"},
				{[]any{"global", "hub"}, missing{}},
				{[]any{"network"}, missing{}},
				{[]any{"revision"}, missing{}},
			},
		},
		"ztunnel: image and revision when set": {
			got: helmvalues.Ztunnel(helmvalues.ZtunnelOptions{Cluster: "c", Network: "n", Hub: "docker.io/istio", Tag: "1.30.0", Revision: "1-30"}),
			checks: []check{
				{[]any{"global", "network"}, "n"},
				{[]any{"global", "hub"}, "docker.io/istio"},
				{[]any{"global", "tag"}, "1.30.0"},
				{[]any{"revision"}, "1-30"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for _, c := range tt.checks {
				if v := get(t, tt.got, c.path...); !reflect.DeepEqual(v, c.want) {
					t.Errorf("%v = %#v, want %#v", c.path, v, c.want)
				}
			}
		})
	}
}

// TestAmbientValuesRenderWithIstioCharts renders the pinned charts with the
// values: what reaches istiod's, ztunnel's and the CNI agent's containers.
func TestAmbientValuesRenderWithIstioCharts(t *testing.T) {
	containerEnv := func(t *testing.T, obj map[string]any) map[string]any {
		t.Helper()
		c := get(t, obj, "spec", "template", "spec", "containers", 0).(map[string]any)
		env := map[string]any{}
		for _, e := range c["env"].([]any) {
			e := e.(map[string]any)
			env[e["name"].(string)] = e["value"]
		}
		env["(image)"] = c["image"]
		return env
	}
	t.Run("istiod", func(t *testing.T) {
		objs := render(t, testcharts.Istiod, "istiod", helmvalues.AmbientIstiod(helmvalues.AmbientIstiodOptions{
			IstiodOptions: helmvalues.IstiodOptions{MeshID: "mesh1", Cluster: "cluster1", Network: "network1", Hub: "docker.io/istio", Tag: "1.30.0"},
		}))
		env := containerEnv(t, objs["Deployment/istiod"])
		for k, want := range map[string]string{
			"PILOT_ENABLE_AMBIENT": "true", "AMBIENT_ENABLE_MULTI_NETWORK": "true", "AMBIENT_ENABLE_BAGGAGE": "true",
			"AMBIENT_ENABLE_MULTI_NETWORK_INGRESS": "false", "CLUSTER_ID": "cluster1",
		} {
			if env[k] != want {
				t.Errorf("istiod env %s = %v, want %q", k, env[k], want)
			}
		}
		mesh := objs["ConfigMap/istio"]["data"].(map[string]any)["mesh"].(string)
		for _, want := range []string{"serviceScopeConfigs", "istio.io/global", "scope: GLOBAL"} {
			if !strings.Contains(mesh, want) {
				t.Errorf("mesh config lacks %q:\n%s", want, mesh)
			}
		}
	})
	t.Run("ztunnel", func(t *testing.T) {
		objs := render(t, testcharts.Ztunnel, "ztunnel", helmvalues.Ztunnel(helmvalues.ZtunnelOptions{
			Cluster: "cluster1", Network: "network1", Hub: "docker.io/istio", Tag: "1.30.0",
		}))
		ds := objs["DaemonSet/ztunnel"]
		if ds == nil {
			t.Fatalf("no DaemonSet ztunnel among %d objects", len(objs))
		}
		env := containerEnv(t, ds)
		if env["NETWORK"] != "network1" || env["ISTIO_META_CLUSTER_ID"] != "cluster1" {
			t.Errorf("ztunnel NETWORK = %v, ISTIO_META_CLUSTER_ID = %v", env["NETWORK"], env["ISTIO_META_CLUSTER_ID"])
		}
		if img, _ := env["(image)"].(string); !strings.HasPrefix(img, "docker.io/istio/ztunnel:1.30.0") {
			t.Errorf("ztunnel image %v", img)
		}
	})
	t.Run("cni", func(t *testing.T) {
		objs := render(t, testcharts.CNI, "istio-cni", helmvalues.CNI(helmvalues.CNIOptions{Hub: "docker.io/istio", Tag: "1.30.0"}))
		var ds map[string]any
		for k, o := range objs {
			if strings.HasPrefix(k, "DaemonSet/") {
				ds = o
			}
		}
		if ds == nil {
			t.Fatalf("no DaemonSet among %d objects", len(objs))
		}
		cm := objs["ConfigMap/istio-cni-config"]
		if cm == nil {
			t.Fatal("no ConfigMap istio-cni-config")
		}
		if got := cm["data"].(map[string]any)["AMBIENT_ENABLED"]; got != "true" {
			t.Errorf("cni AMBIENT_ENABLED = %v, want true", got)
		}
	})
}

func TestCheckAmbientOverrides(t *testing.T) {
	tests := map[string]struct {
		overrides map[string]any
		wantErr   string // "" means accepted
	}{
		"none":                                {nil, ""},
		"unrelated values":                    {map[string]any{"pilot": map[string]any{"autoscaleEnabled": false}}, ""},
		"the switch on, as ristio sets":       {map[string]any{"env": map[string]any{"AMBIENT_ENABLE_MULTI_NETWORK": "true"}}, ""},
		"the ambient profile, as ristio sets": {map[string]any{"profile": "ambient"}, ""},
		"another profile":                     {map[string]any{"profile": "default"}, `profile is "default"`},
		"the switch off under env": {
			map[string]any{"env": map[string]any{"AMBIENT_ENABLE_MULTI_NETWORK": "false"}}, `env.AMBIENT_ENABLE_MULTI_NETWORK is "false"`,
		},
		"the switch off under pilot.env, as a bool": {
			map[string]any{"pilot": map[string]any{"env": map[string]any{"AMBIENT_ENABLE_MULTI_NETWORK": false}}}, `pilot.env.AMBIENT_ENABLE_MULTI_NETWORK is "false"`,
		},
		"the sidecar rule still holds": {
			map[string]any{"env": map[string]any{"ISTIO_MULTIROOT_MESH": "false"}}, "ISTIO_MULTIROOT_MESH",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := helmvalues.CheckAmbientOverrides(tt.overrides)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
