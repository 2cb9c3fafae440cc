package kube_test

import (
	"context"
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/kube"
)

// TestServedServices: a Service counts once one of its slices holds an
// endpoint not known to be unready; slices of other labels are not asked.
func TestServedServices(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	slice := func(name, service, app string, ready ...*bool) {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: service, "app": app}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for i, r := range ready {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.244.9." + string(rune('1'+i))}, Conditions: discoveryv1.EndpointConditions{Ready: r}})
		}
		if _, err := c.Client.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slice("served-a", "served", "istiod", ptr.To(false))
	slice("served-b", "served", "istiod", ptr.To(false), ptr.To(true)) // a second slice with a ready endpoint
	slice("unknown", "unknown", "istiod", nil)                         // readiness not reported counts as ready
	slice("unready", "unready", "istiod", ptr.To(false))
	slice("empty", "empty", "istiod")
	slice("other", "other", "other", ptr.To(true))

	got, err := client.ServedServices(timeout(t, 30*time.Second), ns, "app=istiod")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"served", "unknown"}; !slices.Equal(got, want) {
		t.Errorf("ServedServices = %v, want %v", got, want)
	}
}

// TestRestartDeployments: the selected Deployments get kubectl's
// restartedAt annotation on their pod template (a new rollout); the others
// are left alone.
func TestRestartDeployments(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	createDeployment(t, c, ns, "istiod")
	createDeployment(t, c, ns, "other")
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	names, err := client.RestartDeployments(timeout(t, 30*time.Second), ns, "app=istiod", at)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"istiod"}) {
		t.Errorf("restarted %v, want [istiod]", names)
	}
	for name, want := range map[string]string{"istiod": "2026-12-07T03:00:00Z", "other": ""} {
		d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Spec.Template.Annotations[kube.RestartedAtAnnotation]; got != want {
			t.Errorf("%s: restartedAt %q, want %q", name, got, want)
		}
		if name == "istiod" && d.Generation != 2 {
			t.Errorf("istiod: generation %d, want 2 (a new rollout)", d.Generation)
		}
	}
}
