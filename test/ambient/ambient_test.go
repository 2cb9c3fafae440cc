// Package ambient_test proves the pieces of an ambient multi-network mesh
// against Istio's real istiod in the local world: the pinned Gateway API
// CRDs, istiod, cni and ztunnel with ristio's ambient values, and the
// east-west Gateway, which istiod itself must deploy and program.
//
// The local world runs istiod (pilot-discovery) for real; ztunnel, CNI and
// gateway pods are only marked running by the kubelet emulator (no Envoy, no
// ztunnel, no traffic), and Service load-balancer addresses come from the
// load-balancer emulator.
package ambient_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}
)

const network = "network1"

func TestIstiodDeploysTheEastWestGateway(t *testing.T) {
	start := time.Now()
	w, ctx := startWorld(t, 1)
	lc := w.Clusters[0]

	c := kubeClient(t, w, lc)
	t.Run("the pinned Gateway API CRDs are created, then kept", func(t *testing.T) {
		step := time.Now()
		installGatewayAPI(ctx, t, c)
		t.Logf("%d Gateway API %s CRDs applied in %s", len(gatewayapi.CRDs()), gatewayapi.Version(), time.Since(step).Round(time.Millisecond))
	})
	t.Run("base, ambient istiod, cni and ztunnel install", func(t *testing.T) {
		installAmbientIstio(ctx, t, w, lc, network)
	})
	ns := naming.IstioNamespace
	t.Run("istiod creates the istio-east-west GatewayClass", func(t *testing.T) {
		waitFor(ctx, t, "GatewayClass istio-east-west", func() (bool, string) {
			gc, err := c.Get(ctx, gatewayapi.GatewayClassGVK, "", gatewayapi.EastWestClass)
			if err != nil {
				return false, err.Error()
			}
			if gc == nil {
				return false, "absent"
			}
			t.Logf("GatewayClass %s: controller %v", gc.GetName(), gc.Object["spec"])
			return true, ""
		})
	})

	gw := gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: network})
	t.Run("the API server accepts the east-west Gateway", func(t *testing.T) {
		if err := c.Apply(ctx, gw); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("istiod deploys it: a Deployment, a Service and a ServiceAccount the Gateway owns", func(t *testing.T) {
		step := time.Now()
		var dep *appsv1.Deployment
		waitFor(ctx, t, "istiod's Deployment for the Gateway", func() (bool, string) {
			var err error
			dep, err = lc.Client.AppsV1().Deployments(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		t.Logf("Deployment after %s: labels %v, owners %v", time.Since(step).Round(time.Millisecond), dep.Labels, owners(dep.OwnerReferences))
		if !meshassert.OwnedByEastWestGateway(dep.OwnerReferences) {
			t.Errorf("Deployment is not owned by the Gateway: %v", owners(dep.OwnerReferences))
		}
		if got := dep.Spec.Template.Labels[naming.NetworkLabel]; got != network {
			t.Errorf("gateway pods' %s = %q, want %q", naming.NetworkLabel, got, network)
		}
		svc, err := lc.Client.CoreV1().Services(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ports []string
		hbone := false
		for _, p := range svc.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.Port))
			hbone = hbone || p.Port == gatewayapi.HBONEPort
		}
		t.Logf("Service: type %s, ports %v, labels %v, owners %v", svc.Spec.Type, ports, svc.Labels, owners(svc.OwnerReferences))
		if !hbone {
			t.Errorf("Service has no port %d: %v", gatewayapi.HBONEPort, ports)
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			t.Errorf("Service type %s, want LoadBalancer", svc.Spec.Type)
		}
		if !meshassert.OwnedByEastWestGateway(svc.OwnerReferences) {
			t.Errorf("Service is not owned by the Gateway: %v", owners(svc.OwnerReferences))
		}
		if svc.Labels[naming.NetworkLabel] != network {
			t.Errorf("Service %s = %q, want %q", naming.NetworkLabel, svc.Labels[naming.NetworkLabel], network)
		}
		// istiod copies the Gateway's labels, ristio's managed-by among them,
		// onto what it deploys: ristio's ownership checks must not take these
		// objects for ones it wrote (the Gateway owns them; deleting it
		// deletes them).
		for _, labels := range []map[string]string{dep.Labels, svc.Labels} {
			if labels[naming.ManagedByLabel] != naming.ManagedByValue || labels["gateway.istio.io/managed"] != "istio.io-eastwest-controller" {
				t.Errorf("labels %v: want the Gateway's copied and istiod's own", labels)
			}
		}
		sa, err := lc.Client.CoreV1().ServiceAccounts(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
		if err != nil {
			t.Errorf("istiod made no ServiceAccount for the gateway: %v", err)
		} else if !meshassert.OwnedByEastWestGateway(sa.OwnerReferences) {
			t.Errorf("ServiceAccount is not owned by the Gateway: %v", owners(sa.OwnerReferences))
		}
		_, hpaErr := lc.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
		_, pdbErr := lc.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
		t.Logf("also made: ServiceAccount (%v); HorizontalPodAutoscaler: %v; PodDisruptionBudget: %v", err == nil, hpaErr, pdbErr)
		ctr := dep.Spec.Template.Spec.Containers[0]
		t.Logf("gateway pod template: container %s image %s args %v", ctr.Name, ctr.Image, ctr.Args)
		waitFor(ctx, t, "the gateway Deployment available (emulated pods)", func() (bool, string) {
			d, err := lc.Client.AppsV1().Deployments(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return d.Status.AvailableReplicas > 0, fmt.Sprintf("%d/%d available", d.Status.AvailableReplicas, d.Status.Replicas)
		})
	})

	var address string
	t.Run("istiod programs the Gateway with the load balancer's address", func(t *testing.T) {
		step := time.Now()
		var last gatewayapi.GatewayStatus
		waitFor(ctx, t, "Gateway Programmed with an address", func() (bool, string) {
			live, err := c.Get(ctx, gatewayapi.GatewayGVK, ns, gatewayapi.EastWestGatewayName)
			if err != nil || live == nil {
				return false, fmt.Sprint(err)
			}
			last = gatewayapi.ReadGatewayStatus(live)
			if last.Programmed && len(last.Addresses) > 0 {
				conds, _ := live.Object["status"].(map[string]any)
				t.Logf("Gateway status: %v", conds)
				return true, ""
			}
			return false, last.String() + " " + last.Message
		})
		svc, err := lc.Client.CoreV1().Services(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var lb []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			lb = append(lb, in.IP+in.Hostname)
		}
		t.Logf("Gateway %s after %s; Service load balancer %v", last, time.Since(step).Round(time.Millisecond), lb)
		if len(lb) != 1 || len(last.Addresses) != 1 || last.Addresses[0] != lb[0] {
			t.Errorf("Gateway addresses %v, Service load balancer %v: want the same one address", last.Addresses, lb)
		}
		address = last.Addresses[0]
	})

	t.Run("istiod's networkz lists the gateway on 15008", func(t *testing.T) {
		if address == "" {
			t.Fatal("no gateway address: see the previous step")
		}
		var answer string
		waitFor(ctx, t, "networkz listing the gateway", func() (bool, string) {
			ds, err := istiod.Ask(ctx, c, "")
			if err != nil || len(ds) == 0 {
				return false, fmt.Sprint("ask istiod: ", err)
			}
			if ds[0].NetworkzErr != nil {
				return false, ds[0].NetworkzErr.Error()
			}
			answer = string(ds[0].Networkz)
			return strings.Contains(answer, address) && strings.Contains(answer, fmt.Sprint(gatewayapi.HBONEPort)), answer
		})
		t.Logf("/debug/networkz: %s", answer)
	})

	// A cloud load balancer that gives a hostname (AWS): istiod copies it
	// into the Gateway's status, but lists a network gateway only at the IPs
	// it resolves the name to itself, by DNS (RESOLVE_HOSTNAME_GATEWAYS); a
	// name that does not resolve is left out of /debug/networkz.
	t.Run("a hostname address reaches the Gateway's status, but not networkz while it does not resolve", func(t *testing.T) {
		const hostname = "eastwest.cluster1.lb.example" // never resolves: .example is reserved
		if err := lc.SetServiceAddress(ctx, ns, gatewayapi.EastWestGatewayName, hostname); err != nil {
			t.Fatal(err)
		}
		step := time.Now()
		waitFor(ctx, t, "the Gateway's address following the Service", func() (bool, string) {
			live, err := c.Get(ctx, gatewayapi.GatewayGVK, ns, gatewayapi.EastWestGatewayName)
			if err != nil || live == nil {
				return false, fmt.Sprint(err)
			}
			s := gatewayapi.ReadGatewayStatus(live)
			return s.Programmed && len(s.Addresses) == 1 && s.Addresses[0] == hostname, s.String()
		})
		t.Logf("Gateway address is %s after %s", hostname, time.Since(step).Round(time.Millisecond))
		var answer string
		waitFor(ctx, t, "networkz dropping the old address", func() (bool, string) {
			ds, err := istiod.Ask(ctx, c, "")
			if err != nil || len(ds) == 0 || ds[0].NetworkzErr != nil {
				return false, fmt.Sprint("ask istiod: ", err)
			}
			answer = string(ds[0].Networkz)
			return !strings.Contains(answer, address), answer
		})
		if strings.Contains(answer, hostname) {
			t.Errorf("networkz lists the unresolvable %s: %s", hostname, answer)
		}
		t.Logf("/debug/networkz with an unresolvable hostname: %s", answer)
		pods, err := c.RunningPods(ctx, ns, "app=istiod")
		if err != nil || len(pods) == 0 {
			t.Fatalf("istiod pods: %v", err)
		}
		log, err := c.PodLogTail(ctx, ns, pods[0].Name, "discovery", 2000)
		if err != nil {
			t.Fatal(err)
		}
		var said []string
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, hostname) {
				said = append(said, line)
			}
		}
		t.Logf("istiod said about %s: %q", hostname, said)
		if !strings.Contains(strings.Join(said, "\n"), "could not resolve hostname") {
			t.Errorf("istiod did not log that it could not resolve %s", hostname)
		}
	})
	// mayDeleteGatewayCRD is the removal rule for the gateways CRD, with the
	// objects of its kind counted in the cluster.
	mayDeleteGatewayCRD := func(t *testing.T) bool {
		t.Helper()
		name := gatewayapi.GatewayGVR.GroupResource().String()
		live, err := c.Get(ctx, crdGVK, "", name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.CountObjects(ctx, gatewayapi.GatewayGVK)
		if err != nil {
			t.Fatal(err)
		}
		ok, why := gatewayapi.MayDelete(gatewayapi.InstalledFrom(name, live), n)
		t.Logf("%d Gateways: %s", n, why)
		return ok
	}
	t.Run("deleting the Gateway deletes what istiod deployed for it", func(t *testing.T) {
		if mayDeleteGatewayCRD(t) {
			t.Error("the gateways CRD may be deleted while the east-west Gateway exists")
		}
		if err := c.Delete(ctx, gatewayapi.GatewayGVK, ns, gatewayapi.EastWestGatewayName); err != nil {
			t.Fatal(err)
		}
		step := time.Now()
		waitFor(ctx, t, "the gateway's Deployment, Service and ServiceAccount gone", func() (bool, string) {
			_, derr := lc.Client.AppsV1().Deployments(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			_, serr := lc.Client.CoreV1().Services(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			_, aerr := lc.Client.CoreV1().ServiceAccounts(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			return apierrors.IsNotFound(derr) && apierrors.IsNotFound(serr) && apierrors.IsNotFound(aerr),
				fmt.Sprintf("deployment: %v, service: %v, service account: %v", derr, serr, aerr)
		})
		t.Logf("Deployment, Service and ServiceAccount garbage-collected %s after the Gateway", time.Since(step).Round(time.Millisecond))
		if !mayDeleteGatewayCRD(t) {
			t.Error("the gateways CRD ristio installed may not be deleted once no Gateway is left")
		}
	})
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}

func owners(refs []metav1.OwnerReference) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Kind+"/"+r.Name)
	}
	return out
}
