package provider_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/kube"
)

// TestRemoteSecretRestartsIstiod: after a RemoteSecret rewrites its secret,
// the target's istiod Deployment is rolled exactly when the policy and the
// release istiod reports call for it. The istiod here is a Deployment the
// kubelet emulator runs as an emulated pod, and its /version is stood in
// for: releases with and without istio/istio#61043's fix cannot run here
// (the e2e TestDiscoveryAfterSecretRewrite runs the real, affected istiod).
func TestRemoteSecretRestartsIstiod(t *testing.T) {
	w := lifecycleWorld(t, 2)
	source, target := w.Clusters[0], w.Clusters[1]
	for _, c := range w.Clusters {
		createReaderAccount(t, c)
	}
	createIstiod(t, target)
	var mu sync.Mutex
	release := "1.30.4-abc-Clean"
	setRelease := func(v string) { mu.Lock(); defer mu.Unlock(); release = v }
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	deps := testDeps(clk)
	deps.ChartCache = t.TempDir()
	deps.IstiodVersion = func(context.Context, *kube.Client, *corev1.Pod) string { mu.Lock(); defer mu.Unlock(); return release }
	s := newServer(t, deps)
	r := newResource(s, "RemoteSecret", "cluster1-in-cluster2")
	raw := map[string]property.Value{
		"source":         fileConn(w, source.Name),
		"target":         fileConn(w, target.Name),
		"timeoutSeconds": property.New(lifecycleTimeout),
	}
	ttl := 100.0
	rewrite := func(policy string) property.Map {
		clk.Advance(time.Minute) // each restart is stamped with the provider's clock
		ttl++                    // a new token lifetime: the secret is rewritten
		raw["readerTokenTtlHours"] = property.New(ttl)
		raw["restartIstiodAfterSecretRotation"] = property.New(policy)
		return r.check(t, raw)
	}
	generation := func() int64 {
		d, err := target.Client.AppsV1().Deployments(istioNS).Get(context.Background(), "istiod", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Generation
	}

	step(t, "a first write rewrites nothing and restarts nothing", func(t *testing.T) {
		setRelease("unknown-unknown-unknown")
		r.create(t, rewrite("auto"))
		if g := generation(); g != 1 {
			t.Errorf("istiod generation %d after a create, want 1", g)
		}
	})
	for _, tc := range []struct {
		name, release, policy string
		restarts              bool
	}{
		{"auto, a release with the fixes: not restarted", "1.30.4-abc-Clean", "auto", false},
		{"auto, 1.29 (no swap on rewrite): not restarted", "1.29.6-abc-Clean", "auto", false},
		{"auto, an affected release: restarted", "1.30.3-abc-Clean", "auto", true},
		{"auto, a build without a release: restarted", "unknown-unknown-unknown", "auto", true},
		{"never, an affected release: not restarted", "1.30.3-abc-Clean", "never", false},
		{"always, a release with the fixes: restarted", "1.31.0-abc-Clean", "always", true},
	} {
		step(t, tc.name, func(t *testing.T) {
			setRelease(tc.release)
			before := generation()
			r.update(t, rewrite(tc.policy))
			after := generation()
			if restarted := after > before; restarted != tc.restarts {
				t.Errorf("istiod generation %d → %d: restarted %v, want %v", before, after, restarted, tc.restarts)
			}
			if tc.restarts {
				// The update returned once the rollout was done.
				d, _ := target.Client.AppsV1().Deployments(istioNS).Get(context.Background(), "istiod", metav1.GetOptions{})
				if d.Status.ObservedGeneration != after || d.Status.UpdatedReplicas != 1 || d.Status.AvailableReplicas != 1 {
					t.Errorf("update returned before istiod's rollout ended: %+v", d.Status)
				}
				if d.Spec.Template.Annotations[kube.RestartedAtAnnotation] == "" {
					t.Errorf("istiod's pod template has no %s", kube.RestartedAtAnnotation)
				}
			}
		})
	}
	step(t, "a change of policy alone rewrites nothing", func(t *testing.T) {
		before := generation()
		raw["restartIstiodAfterSecretRotation"] = property.New("always")
		r.update(t, r.check(t, raw))
		if g := generation(); g != before {
			t.Errorf("istiod generation %d → %d", before, g)
		}
	})
	// A set rewrites all its sources, then restarts once.
	set := newResource(s, "RemoteSecretSet", "into-cluster2")
	setRaw := map[string]property.Value{
		"target":         fileConn(w, target.Name),
		"sources":        property.New(map[string]property.Value{source.Name: property.New(map[string]property.Value{"cluster": fileConn(w, source.Name)})}),
		"timeoutSeconds": property.New(lifecycleTimeout),
	}
	step(t, "a RemoteSecretSet restarts an affected istiod once per write of its sources", func(t *testing.T) {
		setRelease("1.30.3-abc-Clean")
		clk.Advance(time.Minute)
		before := generation()
		set.create(t, set.check(t, setRaw)) // rewrites the RemoteSecret's secret
		if g := generation(); g != before+1 {
			t.Errorf("istiod generation %d → %d after the set rewrote a secret, want one restart", before, g)
		}
		before = generation()
		clk.Advance(time.Minute)
		setRaw["readerTokenTtlHours"] = property.New(50.0)
		set.update(t, set.check(t, setRaw))
		if g := generation(); g != before+1 {
			t.Errorf("istiod generation %d → %d, want one restart", before, g)
		}
		setRaw["restartIstiodAfterSecretRotation"] = property.New("never")
		setRaw["readerTokenTtlHours"] = property.New(51.0)
		set.update(t, set.check(t, setRaw))
		if g := generation(); g != before+1 {
			t.Errorf("istiod generation %d with never, want %d", g, before+1)
		}
	})
	step(t, "check refuses an unknown policy, naming the field", func(t *testing.T) {
		raw["restartIstiodAfterSecretRotation"] = property.New("sometimes")
		if got := r.checkFailures(t, raw)["restartIstiodAfterSecretRotation"]; got == "" {
			t.Errorf("no failure for restartIstiodAfterSecretRotation: sometimes")
		}
	})
}

// createIstiod makes a stand-in istiod Deployment (label app=istiod) in
// istio-system, which the kubelet emulator runs as an emulated pod, and
// waits until it is available.
func createIstiod(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	labels := map[string]string{"app": "istiod"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: istioNS, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "discovery", Image: "example.com/stand-in:1"}}},
			},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Client.AppsV1().Deployments(istioNS).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeDeploymentAvailable(ctx, istioNS, "istiod"); err != nil {
		t.Fatal(err)
	}
}
