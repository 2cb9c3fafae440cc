package kube_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
)

func createService(t *testing.T, c *localcluster.Cluster, ns, name string, typ corev1.ServiceType) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "tls", Port: 15443, TargetPort: intstr.FromInt32(15443)}},
		},
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// These run without the load-balancer emulator, which would race the test
// to set the address.
func TestWaitForServiceAddressWithoutEmulator(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)

	t.Run("an absent service has no address", func(t *testing.T) {
		addr, err := client.ServiceAddress(timeout(t, time.Minute), ns, "absent")
		if addr != "" || err != nil {
			t.Fatalf("got %q, %v", addr, err)
		}
	})
	t.Run("a wait that times out names the service and what is missing", func(t *testing.T) {
		createService(t, c, ns, "pending", corev1.ServiceTypeLoadBalancer)
		start := time.Now()
		_, err := client.WaitForServiceAddress(timeout(t, 2*time.Second), ns, "pending", nil)
		mustContain(t, err, "timed out after", "load-balancer address of service "+ns+"/pending", "no ingress address yet")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error does not wrap context.DeadlineExceeded: %v", err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("wait overran its deadline: %s", d)
		}
	})
	t.Run("a hostname, as AWS load balancers give", func(t *testing.T) {
		createService(t, c, ns, "aws", corev1.ServiceTypeLoadBalancer)
		ctx := timeout(t, time.Minute)
		if addr, err := client.ServiceAddress(ctx, ns, "aws"); addr != "" || err != nil {
			t.Fatalf("ServiceAddress before: %q, %v", addr, err)
		}
		time.AfterFunc(time.Second, func() {
			if err := c.SetServiceAddress(context.Background(), ns, "aws", "a1b2.elb.example"); err != nil {
				t.Error(err)
			}
		})
		addr, err := client.WaitForServiceAddress(ctx, ns, "aws", nil)
		if err != nil || addr != "a1b2.elb.example" {
			t.Fatalf("got %q, %v", addr, err)
		}
	})
	t.Run("a ClusterIP service fails at once", func(t *testing.T) {
		createService(t, c, ns, "internal", corev1.ServiceTypeClusterIP)
		start := time.Now()
		_, err := client.WaitForServiceAddress(timeout(t, time.Minute), ns, "internal", nil)
		mustContain(t, err, "service "+ns+"/internal", "type ClusterIP, not LoadBalancer")
		if time.Since(start) > 5*time.Second {
			t.Errorf("took %s", time.Since(start))
		}
	})
}

func TestWaitForServiceAddressWithEmulator(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	emulators, stop := context.WithCancel(context.Background())
	defer stop()
	c.RunLoadBalancer(emulators, localcluster.LBIP)

	createService(t, c, ns, "istio-eastwestgateway", corev1.ServiceTypeLoadBalancer)
	ctx := timeout(t, time.Minute)
	start := time.Now()
	addr, err := client.WaitForServiceAddress(ctx, ns, "istio-eastwestgateway", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load-balancer address %s after %s", addr, time.Since(start).Round(time.Millisecond))
	if !strings.HasPrefix(addr, "127.0.1.") {
		t.Errorf("address %q, want one from 127.0.1.0/24", addr)
	}
	if again, err := client.ServiceAddress(ctx, ns, "istio-eastwestgateway"); again != addr || err != nil {
		t.Errorf("ServiceAddress: %q, %v", again, err)
	}
}

func createDeployment(t *testing.T, c *localcluster.Cluster, ns, name string) {
	t.Helper()
	replicas := int32(1)
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1.0"}}},
			},
		},
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestWaitForDeployment(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	createDeployment(t, c, ns, "istiod")

	// Without a kubelet no pod becomes ready: the wait times out and says so.
	rec := &recorder{}
	start := time.Now()
	err := client.WaitForDeployment(timeout(t, 6*time.Second), ns, "istiod", rec.progress)
	t.Logf("timeout error: %v", err)
	mustContain(t, err, "timed out after", "deployment "+ns+"/istiod", "0 of 1 updated replicas are available", "pods: istiod-")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error does not wrap context.DeadlineExceeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("wait overran its deadline: %s", d)
	}
	lines := rec.all()
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "waiting for deployment "+ns+"/istiod (5s): 0 of 1 updated replicas are available") {
		t.Errorf("progress lines %q", lines)
	}

	// With the kubelet emulator the deployment becomes available.
	emulators, stop := context.WithCancel(context.Background())
	defer stop()
	c.RunKubelet(emulators)
	start = time.Now()
	if err := client.WaitForDeployment(timeout(t, time.Minute), ns, "istiod", nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("deployment available %s after the kubelet emulator started", time.Since(start).Round(time.Millisecond))

	// A new generation is waited for until the controller has seen it.
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(context.Background(), "istiod", "application/merge-patch+json",
		[]byte(`{"spec":{"template":{"metadata":{"labels":{"rev":"2"}}}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitForDeployment(timeout(t, time.Minute), ns, "istiod", nil); err != nil {
		t.Fatal(err)
	}
	d, _ := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "istiod", metav1.GetOptions{})
	if d.Status.ObservedGeneration < d.Generation {
		t.Errorf("returned before generation %d was observed", d.Generation)
	}
}

func TestWaitForServiceAccount(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)

	err := client.WaitForServiceAccount(timeout(t, 1500*time.Millisecond), ns, "istio-reader-service-account", nil)
	mustContain(t, err, "timed out after", "service account "+ns+"/istio-reader-service-account: not found")

	time.AfterFunc(time.Second, func() { createServiceAccountLater(t, c, ns, "istio-reader-service-account") })
	if err := client.WaitForServiceAccount(timeout(t, time.Minute), ns, "istio-reader-service-account", nil); err != nil {
		t.Fatal(err)
	}
}

func TestWaitHonoursCancellation(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	err := client.WaitForDeployment(ctx, ns, "never", nil)
	mustContain(t, err, "cancelled after", "deployment "+ns+"/never: not found")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error does not wrap context.Canceled")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %s to notice cancellation", time.Since(start))
	}
}

func TestDeleteNamespaceWithContent(t *testing.T) {
	c, client := cluster(t)
	ctx := timeout(t, 2*time.Minute)
	name := "delete-ns-test"
	if err := client.EnsureNamespace(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	createDeployment(t, c, name, "web")
	createService(t, c, name, "web", corev1.ServiceTypeClusterIP)
	// Let the controllers make the replica set and pod.
	time.Sleep(2 * time.Second)
	start := time.Now()
	rec := &recorder{}
	if err := client.DeleteNamespace(ctx, name, rec.progress); err != nil {
		t.Fatal(err)
	}
	t.Logf("namespace with a deployment deleted in %s; progress %q", time.Since(start).Round(time.Millisecond), rec.all())
}
