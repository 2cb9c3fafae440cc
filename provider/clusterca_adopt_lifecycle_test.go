package provider_test

import (
	"context"
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterCAAdoptsALiveIntermediate gives a ClusterCA adoptFrom over a
// cluster whose cacerts another tool wrote: the intermediate is kept when
// the mesh root issued it, and one issued by another root is refused.
func TestClusterCAAdoptsALiveIntermediate(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	s := lifecycleServer(t, &clock{now: time.Now()})

	// What ristioctl left: an intermediate of root A in a cacerts without
	// ristio's marks.
	certPem, keyPem, rootPem, chainPem := clusterCA(t, s, c.Name)
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: istioNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Secrets(istioNS).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cacerts", Namespace: istioNS},
		Data: map[string][]byte{
			"ca-cert.pem": []byte(certPem.AsString()), "ca-key.pem": []byte(keyPem.AsString()),
			"root-cert.pem": []byte(rootPem.AsString()), "cert-chain.pem": []byte(chainPem.AsString()),
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := newResource(s, "RootCA", "other-root")
	other.create(t, other.check(t, map[string]property.Value{"keyType": str("ECDSA"), "validityHours": property.New(1000.0)}))

	adopting := func(root *resource, rootPem property.Value) map[string]property.Value {
		return map[string]property.Value{
			"cluster": str(c.Name), "rootCertPem": rootPem, "keyType": str("ECDSA"), "validityHours": property.New(500.0),
			"rootKeyPem": root.state.Get("keyPem"), "adoptFrom": secretConn(t, w, c.Name),
		}
	}

	step(t, "with the root that issued it, the live intermediate is kept", func(t *testing.T) {
		// The root's key only matters for a new intermediate; the one the
		// live cacerts holds is what must come out.
		ca := newResource(s, "ClusterCA", "ca-adopt")
		inputs := ca.check(t, adopting(other, rootPem))
		ca.preview(t, inputs)
		ca.create(t, inputs)
		if got := ca.state.Get("certPem").AsString(); got != certPem.AsString() {
			t.Errorf("certPem is not the live ca-cert.pem")
		}
		if got := ca.state.Get("certChainPem").AsString(); got != chainPem.AsString() {
			t.Errorf("certChainPem is not the live cert-chain.pem")
		}
		if key := ca.state.Get("keyPem"); !key.Secret() || key.AsString() != keyPem.AsString() {
			t.Errorf("keyPem is not the live ca-key.pem, kept secret")
		}
	})

	step(t, "with another root, up is refused and says which root to bring", func(t *testing.T) {
		ca := newResource(s, "ClusterCA", "ca-other")
		_, err := s.Create(p.CreateRequest{Urn: ca.urn, Properties: ca.check(t, adopting(other, other.state.Get("certPem"))), Timeout: lifecycleTimeout})
		for _, want := range []string{"cluster " + c.Name + ": adopt istio-system/cacerts", "was not issued by the mesh root", "set certificate.rootCertPem and rootKeyPem to the root that issued it"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("create: %v, want %q", err, want)
			}
		}
	})
}
