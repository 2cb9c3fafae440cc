package kube_test

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplySecret writes owner references and finalizers as it does labels and
// data, and removes those it applied before and no longer passes.
func TestApplySecretCarriesEveryField(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	ctx := timeout(t, time.Minute)
	owner, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret := func(finalizers ...string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: "owned", Namespace: ns,
				Labels:          map[string]string{"app": "ristio-test"},
				Annotations:     map[string]string{"ristio.dev/note": "kept"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}},
				Finalizers:      finalizers,
			},
			Type:       corev1.SecretTypeOpaque,
			StringData: map[string]string{"note": "B"},
		}
	}
	apply := func(s *corev1.Secret) *corev1.Secret {
		t.Helper()
		if err := client.ApplySecret(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := client.GetSecret(ctx, ns, s.Name)
		if err != nil || got == nil {
			t.Fatalf("GetSecret: %v, %v", got, err)
		}
		return got
	}

	got := apply(secret("ristio.dev/test"))
	if len(got.OwnerReferences) != 1 || got.OwnerReferences[0].UID != owner.UID {
		t.Errorf("owner references %+v, want the config map %s", got.OwnerReferences, owner.UID)
	}
	if !slices.Equal(got.Finalizers, []string{"ristio.dev/test"}) {
		t.Errorf("finalizers %v", got.Finalizers)
	}
	if string(got.Data["note"]) != "B" || got.Labels["app"] != "ristio-test" || got.Annotations["ristio.dev/note"] != "kept" || got.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret %s: data keys %d, labels %v, annotations %v, type %s", got.Name, len(got.Data), got.Labels, got.Annotations, got.Type)
	}

	// Applied again without the finalizer, the secret loses it (and can be
	// deleted with its namespace).
	if got := apply(secret()); len(got.Finalizers) != 0 {
		t.Errorf("finalizers %v after applying none", got.Finalizers)
	}

	// A secret read back carries what only the server sets: refused, not
	// half applied.
	mustContain(t, client.ApplySecret(ctx, got), "apply secret "+ns+"/owned", "metadata.uid", "set by the API server")
}
