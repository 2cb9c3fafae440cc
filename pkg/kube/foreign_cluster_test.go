package kube_test

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestForeignObjects: what a user (or a Helm release of theirs) put in a
// namespace keeps it, whatever its labels say; what ristio wrote, what a
// release of ristio's renders, and what Kubernetes and istiod write
// themselves do not.
func TestForeignObjects(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cm := func(name string, labels, annotations map[string]string) {
		must(c.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}}, metav1.CreateOptions{}))
	}
	release := func(name, version string, labels map[string]string) {
		l := map[string]string{"owner": "helm", "name": name, "version": version, "status": "deployed"}
		for k, v := range labels {
			l[k] = v
		}
		must(c.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1." + name + ".v" + version, Labels: l},
			Type:       "helm.sh/release.v1",
		}, metav1.CreateOptions{}))
	}
	helm := map[string]string{naming.ManagedByLabel: "Helm"}
	ristio := naming.ManagedLabels()

	// ristio's: its own marks, and what its releases render.
	cm("ristio-config", ristio, nil)
	release("istiod", "1", map[string]string{naming.OwnerLabel: "istiod-1234"})
	release("istiod", "2", map[string]string{naming.OwnerLabel: "istiod-1234"})
	cm("istio", helm, map[string]string{naming.HelmReleaseAnnotation: "istiod"})
	// Kubernetes' and istiod's own.
	cm("istio-ca-root-cert", nil, nil)
	cm("istio-leader", nil, map[string]string{"control-plane.alpha.kubernetes.io/leader": "{}"})
	// The user's: a Helm app (its release, a ConfigMap and a claim labelled
	// as Helm's), a bare pod, and a secret.
	release("user-app", "1", nil)
	cm("user-app-config", helm, map[string]string{naming.HelmReleaseAnnotation: "user-app"})
	must(c.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: helm},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}))
	pod := func(name string, labels map[string]string, owner *metav1.OwnerReference) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/c:1"}}}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		must(c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}))
	}
	pod("bare", nil, nil)
	// A pod of a ReplicaSet is judged through it; one of an operator's
	// resource on its own.
	rs, err := c.Client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "istiod-abc", Labels: ristio},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/c:1"}}}},
		},
	}, metav1.CreateOptions{})
	must(rs, err)
	// Labelled as the ReplicaSet selects, so that its controller keeps the
	// pod it owns (whatever pods it makes or removes, each is its own).
	pod("of-replicaset", map[string]string{"app": "x"}, &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)})
	pod("of-operator", nil, &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Database", Name: "db", UID: "d6c1e5a0-0000-4000-8000-000000000001", Controller: ptr.To(true)})
	must(c.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "user-token"}}, metav1.CreateOptions{}))

	got, err := client.ForeignObjects(timeout(t, 30*time.Second), ns)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ConfigMap user-app-config", "Helm release user-app", "PersistentVolumeClaim data",
		"Pod bare", "Pod of-operator", "Secret user-token",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ForeignObjects =\n  %q\nwant\n  %q", got, want)
	}
}
