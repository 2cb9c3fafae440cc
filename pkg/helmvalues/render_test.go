package helmvalues_test

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
)

// render runs `helm template` in-process and returns the objects by
// "<Kind>/<name>".
func render(t *testing.T, chartName, release string, values map[string]any) map[string]map[string]any {
	t.Helper()
	ch, err := loader.LoadDir(testcharts.ModuleChartsDir(t, chartName))
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{Log: t.Logf})
	install.ClientOnly = true
	install.DryRun = true
	install.Namespace = "istio-system"
	install.ReleaseName = release
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}
	rel, err := install.Run(ch, values)
	if err != nil {
		t.Fatalf("render %s: %v", chartName, err)
	}
	objs := map[string]map[string]any{}
	for _, doc := range releaseutil.SplitManifests(rel.Manifest) {
		var o map[string]any
		if err := yaml.UnmarshalStrict([]byte(doc), &o); err != nil {
			t.Fatalf("render %s: %v\n%s", chartName, err, doc)
		}
		if o == nil {
			continue
		}
		meta := o["metadata"].(map[string]any)
		objs[o["kind"].(string)+"/"+meta["name"].(string)] = o
	}
	return objs
}

func TestValuesRenderWithIstioCharts(t *testing.T) {
	t.Run("base", func(t *testing.T) {
		objs := render(t, testcharts.Base, "istio-base", helmvalues.Base("1-29"))
		if _, ok := objs["ServiceAccount/istio-reader-service-account"]; !ok {
			t.Error("base renders no istio-reader-service-account")
		}
		vwc := objs["ValidatingWebhookConfiguration/istiod-default-validator"]
		if vwc == nil {
			t.Fatal("no istiod-default-validator")
		}
		svc := get(t, vwc, "webhooks", 0, "clientConfig", "service", "name")
		if svc != "istiod-1-29" {
			t.Errorf("default validator calls %v, want istiod-1-29", svc)
		}
		crds := 0
		for k := range objs {
			if strings.HasPrefix(k, "CustomResourceDefinition/") {
				crds++
			}
		}
		if crds == 0 {
			t.Error("base renders no CRDs")
		}
		t.Logf("base renders %d objects, %d of them CRDs", len(objs), crds)
	})

	t.Run("istiod", func(t *testing.T) {
		objs := render(t, testcharts.Istiod, "istiod", helmvalues.Istiod(helmvalues.IstiodOptions{
			MeshID: "mesh1", Cluster: "cluster1", Network: "network1", Tag: "1.29.0", Hub: "docker.io/istio",
			MeshNetworks: []helmvalues.MeshNetwork{{Network: "network2", Cluster: "cluster2", GatewayAddress: "192.0.2.1"}},
		}))
		cm := objs["ConfigMap/istio"]
		if cm == nil {
			t.Fatal("no ConfigMap istio")
		}
		data := cm["data"].(map[string]any)
		if !strings.Contains(data["mesh"].(string), `meshId: mesh1`) {
			t.Errorf("mesh config lacks meshId:\n%s", data["mesh"])
		}
		for _, want := range []string{"network2:", "fromRegistry: cluster2", "address: 192.0.2.1", "port: 15443"} {
			if !strings.Contains(data["meshNetworks"].(string), want) {
				t.Errorf("meshNetworks lacks %q:\n%s", want, data["meshNetworks"])
			}
		}
		dep := objs["Deployment/istiod"]
		if dep == nil {
			t.Fatal("no Deployment istiod")
		}
		c := get(t, dep, "spec", "template", "spec", "containers", 0).(map[string]any)
		if c["image"] != "docker.io/istio/pilot:1.29.0" {
			t.Errorf("istiod image %v", c["image"])
		}
		env := map[string]any{}
		for _, e := range c["env"].([]any) {
			e := e.(map[string]any)
			env[e["name"].(string)] = e["value"]
		}
		if env["CLUSTER_ID"] != "cluster1" {
			t.Errorf("CLUSTER_ID = %v", env["CLUSTER_ID"])
		}
		if env["ISTIO_META_MESH_ID"] != nil && env["ISTIO_META_MESH_ID"] != "mesh1" {
			t.Errorf("ISTIO_META_MESH_ID = %v", env["ISTIO_META_MESH_ID"])
		}
		var kinds []string
		for k := range objs {
			kinds = append(kinds, k)
		}
		t.Logf("istiod renders: %v", kinds)
	})

	t.Run("gateway", func(t *testing.T) {
		objs := render(t, testcharts.Gateway, "istio-eastwestgateway", helmvalues.EastWestGateway(helmvalues.GatewayOptions{Network: "network1", Revision: "1-29", Tag: "1.29.0"}))
		svc := objs["Service/istio-eastwestgateway"]
		if svc == nil {
			t.Fatal("no Service istio-eastwestgateway")
		}
		if get(t, svc, "spec", "type") != "LoadBalancer" {
			t.Errorf("service type %v", get(t, svc, "spec", "type"))
		}
		var ports []string
		for _, p := range get(t, svc, "spec", "ports").([]any) {
			ports = append(ports, p.(map[string]any)["name"].(string))
		}
		if strings.Join(ports, ",") != "status-port,tls,tls-istiod,tls-webhook" {
			t.Errorf("service ports %v", ports)
		}
		if get(t, svc, "metadata", "labels", "topology.istio.io/network") != "network1" {
			t.Error("service lacks the network label")
		}
		if get(t, svc, "spec", "selector", "istio") != "eastwestgateway" {
			t.Errorf("service selector %v", get(t, svc, "spec", "selector"))
		}
		dep := objs["Deployment/istio-eastwestgateway"]
		if dep == nil {
			t.Fatal("no Deployment istio-eastwestgateway")
		}
		labels := get(t, dep, "spec", "template", "metadata", "labels").(map[string]any)
		if labels["istio.io/rev"] != "1-29" || labels["topology.istio.io/network"] != "network1" {
			t.Errorf("pod labels %v", labels)
		}
		c := get(t, dep, "spec", "template", "spec", "containers", 0).(map[string]any)
		n := 0
		for _, e := range c["env"].([]any) {
			if e.(map[string]any)["name"] == "ISTIO_META_REQUESTED_NETWORK_VIEW" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("ISTIO_META_REQUESTED_NETWORK_VIEW appears %d times in %v", n, c["env"])
		}
	})
}
