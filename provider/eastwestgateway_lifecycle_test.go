package provider_test

import (
	"context"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestEastWestGatewayLifecycle installs the east-west gateway over a control
// plane made through the same provider, follows its load-balancer address,
// repairs a Gateway deleted by hand, pins the address and uninstalls it.
func TestEastWestGatewayLifecycle(t *testing.T) {
	// The load balancer starts later, to show that create waits for it.
	w, emulators := kubeletWorld(t, 1)
	c := w.Clusters[0]
	ctx := context.Background()
	s := lifecycleServer(t, &clock{now: time.Now()})
	charts := testcharts.Directory(t)
	r := newResource(s, "EastWestGateway", "eastwest")
	var inputs property.Map
	var controlPlane *resource

	step(t, "check accepts a chart directory and an exact version", func(t *testing.T) {
		inputs = r.check(t, map[string]property.Value{
			"cluster":        fileConn(w, c.Name),
			"network":        str("network1"),
			"istioVersion":   str("1.28.1"),
			"chartDirectory": str(charts),
			"timeoutSeconds": property.New(lifecycleTimeout),
		})
	})

	step(t, "a preview touches nothing in the cluster", func(t *testing.T) {
		before := snapshots(t, w)
		out := r.preview(t, inputs)
		pinned := r.preview(t, inputs.Set("gatewayAddress", str("203.0.113.7")))
		wantUntouched(t, w, before)
		if got := out.Get("address"); !got.IsComputed() {
			t.Errorf("preview: address = %v, want unknown until the load balancer assigns one", got)
		}
		// The engine may show a fixed address as known or as unknown, never as another value.
		if got := pinned.Get("address"); !got.IsComputed() && (!got.IsString() || got.AsString() != "203.0.113.7") {
			t.Errorf("preview with a fixed gatewayAddress: address = %v, want 203.0.113.7 or unknown", got)
		}
	})

	step(t, "a control plane is installed first", func(t *testing.T) {
		controlPlane = createControlPlane(t, s, w, c.Name, charts)
	})

	step(t, "create waits for the load balancer and reports its address", func(t *testing.T) {
		type result struct {
			resp p.CreateResponse
			err  error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := s.Create(p.CreateRequest{Urn: r.urn, Properties: inputs, Timeout: lifecycleTimeout})
			done <- result{resp, err}
		}()
		eventually(t, "the gateway to be available without an address", func() (bool, error) {
			d, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
			return err == nil && d.Status.AvailableReplicas > 0, err
		})
		select {
		case res := <-done:
			t.Fatalf("create returned before the service had a load-balancer address: %v, %v", res.resp.Properties.Get("address"), res.err)
		case <-time.After(2 * time.Second):
		}
		c.RunLoadBalancer(emulators, localcluster.LBIP)
		res := <-done
		if res.err != nil {
			t.Fatalf("create: %v", res.err)
		}
		r.id, r.inputs, r.state = res.resp.ID, inputs, res.resp.Properties
		svc := eastWestService(t, c)
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			t.Errorf("service type = %s, want LoadBalancer", svc.Spec.Type)
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			t.Fatalf("service has no load-balancer ingress")
		}
		if got, want := r.str("address"), svc.Status.LoadBalancer.Ingress[0].IP; got == "" || got != want {
			t.Errorf("address = %q, want the service's ingress IP %q", got, want)
		}
		if status, _ := helmRelease(t, c, "istio-eastwestgateway"); status != "deployed" || r.str("releaseStatus") != "deployed" {
			t.Errorf("release istio-eastwestgateway: %q, state says %q; want deployed", status, r.str("releaseStatus"))
		}
		if !r.bool("gatewayPresent") {
			t.Errorf("gatewayPresent = false after create")
		}
		wantCrossNetworkGateway(t, c)
	})

	step(t, "a fresh gateway has no diff", func(t *testing.T) {
		wantNoChanges(t, r.diff(t, inputs))
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a new load-balancer address shows up on read", func(t *testing.T) {
		if err := c.SetServiceAddress(ctx, istioNS, "istio-eastwestgateway", "127.0.2.10"); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		if got := r.str("address"); got != "127.0.2.10" {
			t.Errorf("address after the load balancer moved = %q, want 127.0.2.10", got)
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a Gateway deleted by hand reads back as absent", func(t *testing.T) {
		if err := dynamicFor(t, c).Resource(gatewayGVR).Namespace(istioNS).Delete(ctx, "cross-network-gateway", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		if r.bool("gatewayPresent") {
			t.Errorf("gatewayPresent = true after the Gateway was deleted")
		}
	})

	step(t, "a missing Gateway diffs as an update, not a replacement", func(t *testing.T) {
		wantUpdate(t, r.diff(t, inputs), "gatewayPresent")
	})

	step(t, "the update applies the Gateway again", func(t *testing.T) {
		r.update(t, inputs)
		wantCrossNetworkGateway(t, c)
		if !r.bool("gatewayPresent") {
			t.Errorf("gatewayPresent = false after the repair")
		}
		if got := r.str("address"); got != "127.0.2.10" {
			t.Errorf("address after the repair = %q, want 127.0.2.10", got)
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	pinned := inputs.Set("gatewayAddress", str("203.0.113.7"))

	step(t, "a fixed gatewayAddress is an update in place", func(t *testing.T) {
		wantUpdate(t, r.diff(t, pinned), "gatewayAddress")
	})

	step(t, "with a fixed gatewayAddress the address is that value", func(t *testing.T) {
		r.update(t, pinned)
		if got := r.str("address"); got != "203.0.113.7" {
			t.Errorf("address = %q, want the fixed 203.0.113.7", got)
		}
		r.read(t)
		if got := r.str("address"); got != "203.0.113.7" {
			t.Errorf("address after read = %q, want the fixed 203.0.113.7", got)
		}
		wantNoChanges(t, r.diff(t, pinned))
	})

	step(t, "another cluster name is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, pinned.Set("cluster", withName(pinned.Get("cluster"), "cluster9"))), "cluster")
	})

	step(t, "delete removes the Gateway and the release", func(t *testing.T) {
		r.delete(t)
		if _, err := dynamicFor(t, c).Resource(gatewayGVR).Namespace(istioNS).Get(ctx, "cross-network-gateway", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Gateway cross-network-gateway after delete: %v, want NotFound", err)
		}
		if status, rev := helmRelease(t, c, "istio-eastwestgateway"); rev != 0 {
			t.Errorf("release istio-eastwestgateway survived delete: status %q revision %d", status, rev)
		}
		eventually(t, "service istio-eastwestgateway to be deleted", func() (bool, error) {
			_, err := c.Client.CoreV1().Services(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	})

	step(t, "the control plane is deleted last", func(t *testing.T) {
		controlPlane.delete(t)
	})
}

func eastWestService(t *testing.T, c *localcluster.Cluster) *corev1.Service {
	t.Helper()
	svc, err := c.Client.CoreV1().Services(istioNS).Get(context.Background(), "istio-eastwestgateway", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: service istio-eastwestgateway: %v", c.Name, err)
	}
	return svc
}

// wantCrossNetworkGateway checks the Gateway exposes *.local with
// AUTO_PASSTHROUGH on 15443 and is marked as ristio's.
func wantCrossNetworkGateway(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	gw, err := dynamicFor(t, c).Resource(gatewayGVR).Namespace(istioNS).Get(context.Background(), "cross-network-gateway", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: Gateway cross-network-gateway: %v", c.Name, err)
	}
	if gw.GetLabels()["app.kubernetes.io/managed-by"] != "ristio" {
		t.Errorf("Gateway labels = %v, want managed-by ristio", gw.GetLabels())
	}
	spec, _ := gw.Object["spec"].(map[string]any)
	servers, _ := spec["servers"].([]any)
	if len(servers) != 1 {
		t.Fatalf("Gateway servers = %v, want one", servers)
	}
	server, _ := servers[0].(map[string]any)
	port, _ := server["port"].(map[string]any)
	tls, _ := server["tls"].(map[string]any)
	if port["number"] != int64(15443) || tls["mode"] != "AUTO_PASSTHROUGH" {
		t.Errorf("Gateway server = %v, want AUTO_PASSTHROUGH on 15443", server)
	}
	if sel, _ := spec["selector"].(map[string]any); sel["istio"] != "eastwestgateway" {
		t.Errorf("Gateway selector = %v, want istio=eastwestgateway", spec["selector"])
	}
}
