package ambient_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// ambientzPath is istiod's view of the workload API it serves ztunnels.
const ambientzPath = "/debug/ambientz"

// globalLabel makes a service reachable from other clusters in an ambient
// mesh: the ambient profile's serviceScopeConfigs select it.
const globalLabel = "istio.io/global"

// ambientz is the part of /debug/ambientz read here. Addresses are base64 of
// the address's text (istiod rewrites the raw IP bytes to text before JSON
// encodes them).
type ambientz struct {
	Services []struct {
		Hostname  string
		Addresses []struct{ Network string }
	}
	Workloads []struct {
		Name, Namespace string
		Network         string
		NetworkGateway  *struct {
			Address       struct{ Address, Network string }
			HboneMtlsPort int
		}
	}
}

// TestServiceScope: in an ambient mesh a service is reachable from other
// clusters only when labelled istio.io/global: "true". cluster2 serves a
// global and a local service; cluster1's istiod offers its ztunnels only the
// global one, through a workload that sends its traffic to cluster2's
// east-west gateway on HBONE 15008. Workloads' pods are emulated.
func TestServiceScope(t *testing.T) {
	start := time.Now()
	w, ctx := startWorld(t, 2)
	gatewayAddress := ambientPeers(ctx, t, w)

	c2 := w.Clusters[1]
	const ns = "sample"
	if _, err := c2.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"istio.io/dataplane-mode": "ambient"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, labels := range map[string]map[string]string{
		"global-svc": {globalLabel: "true"},
		"local-svc":  nil,
	} {
		serve(ctx, t, c2, ns, name, labels)
	}

	host := func(name string) string { return name + "." + ns + ".svc.cluster.local" }
	for _, lc := range w.Clusters {
		c := kubeClient(t, w, lc)
		remote := lc != c2
		waitFor(ctx, t, lc.Name+": ambientz offering the right services", func() (bool, string) {
			pods, err := c.RunningPods(ctx, naming.IstioNamespace, "app=istiod")
			if err != nil || len(pods) == 0 {
				return false, fmt.Sprint("istiod pods: ", err)
			}
			body, err := c.PodGet(ctx, naming.IstioNamespace, pods[0].Name, 15014, ambientzPath)
			if err != nil {
				return false, err.Error()
			}
			var az ambientz
			if err := json.Unmarshal(body, &az); err != nil {
				return false, err.Error()
			}
			services := map[string]string{}
			for _, s := range az.Services {
				if len(s.Addresses) > 0 {
					services[s.Hostname] = s.Addresses[0].Network
				}
			}
			if services[host("global-svc")] != naming.DefaultNetwork(c2.Name) {
				return false, fmt.Sprintf("global-svc not offered on %s: %v", naming.DefaultNetwork(c2.Name), services)
			}
			_, local := services[host("local-svc")]
			if local == remote {
				return false, fmt.Sprintf("local-svc offered: %v, want %v", local, !remote)
			}
			if !remote {
				return true, ""
			}
			// The remote global service is reached through cluster2's gateway.
			for _, wl := range az.Workloads {
				gw := wl.NetworkGateway
				if wl.Namespace != ns || !strings.HasSuffix(wl.Name, "/"+host("global-svc")) || gw == nil {
					continue
				}
				addr, _ := base64.StdEncoding.DecodeString(gw.Address.Address)
				if string(addr) == gatewayAddress[c2.Name] && gw.HboneMtlsPort == gatewayapi.HBONEPort && wl.Network == naming.DefaultNetwork(c2.Name) {
					t.Logf("%s reaches %s through workload %s: gateway %s:%d", lc.Name, host("global-svc"), wl.Name, addr, gw.HboneMtlsPort)
					return true, ""
				}
			}
			return false, fmt.Sprintf("no workload sends global-svc to %s:%d", gatewayAddress[c2.Name], gatewayapi.HBONEPort)
		})
	}
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}

// serve runs a one-pod Deployment (emulated) and a Service for it.
func serve(ctx context.Context, t *testing.T, lc *localcluster.Cluster, ns, name string, labels map[string]string) {
	t.Helper()
	sel := map[string]string{"app": name}
	if _, err := lc.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app:1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
