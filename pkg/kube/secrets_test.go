package kube

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// everySettableField is a secret with each field a client may apply set.
func everySettableField() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "cacerts", GenerateName: "cacerts-", Namespace: "istio-system", ResourceVersion: "42",
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "ristio"},
			Annotations: map[string]string{"ristio.dev/owner": "id-1"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "0b7e5c3a-1",
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
			Finalizers: []string{"ristio.dev/keep"},
		},
		Immutable:  ptr(true),
		Data:       map[string][]byte{"ca-cert.pem": []byte("A")},
		StringData: map[string]string{"note": "B"},
		Type:       corev1.SecretTypeOpaque,
	}
}

// The apply configuration holds every field of the secret: the two
// serialize alike, apart from apiVersion and kind, which apply requires.
func TestSecretApplyConfigurationCarriesEveryField(t *testing.T) {
	s := everySettableField()
	ac, err := secretApplyConfiguration(s)
	if err != nil {
		t.Fatal(err)
	}
	got, want := asMap(t, ac), asMap(t, s)
	want["apiVersion"], want["kind"] = "v1", "Secret"
	delete(want["metadata"].(map[string]any), "creationTimestamp") // null: unset
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		t.Fatalf("apply configuration\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestSecretApplyConfigurationRefusesServerFields(t *testing.T) {
	now := metav1.NewTime(time.Unix(1700000000, 0))
	tests := map[string]struct {
		set  func(m *metav1.ObjectMeta)
		want string
	}{
		"a uid":               {set: func(m *metav1.ObjectMeta) { m.UID = "0b7e5c3a-2" }, want: "metadata.uid"},
		"a generation":        {set: func(m *metav1.ObjectMeta) { m.Generation = 3 }, want: "metadata.generation"},
		"a creation time":     {set: func(m *metav1.ObjectMeta) { m.CreationTimestamp = now }, want: "metadata.creationTimestamp"},
		"a deletion time":     {set: func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &now }, want: "metadata.deletionTimestamp"},
		"a grace period":      {set: func(m *metav1.ObjectMeta) { m.DeletionGracePeriodSeconds = ptr(int64(30)) }, want: "metadata.deletionGracePeriodSeconds"},
		"managed fields read": {set: func(m *metav1.ObjectMeta) { m.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "ristio"}} }, want: "metadata.managedFields"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			s := everySettableField()
			tc.set(&s.ObjectMeta)
			_, err := secretApplyConfiguration(s)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "set by the API server") {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "ca-cert.pem") {
				t.Error("error quotes the secret")
			}
		})
	}
}

func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
