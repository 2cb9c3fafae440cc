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

	"github.com/ristio/pulumi-ristio/internal/localcluster"
)

// TestCACertsLifecycle walks the cacerts secret through every provider call
// against a real API server: preview, create, refresh after a hand delete,
// repair, in-place and replacing changes, and delete with and without the
// namespace it created.
func TestCACertsLifecycle(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	ctx := context.Background()
	s := lifecycleServer(t, &clock{now: time.Now()})

	certPem, keyPem, rootPem, chainPem := clusterCA(t, s, c.Name)
	raw := map[string]property.Value{
		"cluster":      secretConn(t, w, c.Name),
		"caCertPem":    certPem,
		"caKeyPem":     keyPem,
		"rootCertPem":  rootPem,
		"certChainPem": chainPem,
	}
	r := newResource(s, "CACerts", "cacerts")
	var inputs property.Map

	step(t, "check accepts a cluster reached through kubeconfig contents", func(t *testing.T) {
		inputs = r.check(t, raw)
		wantSecret(t, inputs, "caKeyPem")
		wantSecret(t, inputs, "cluster", "kubeconfig")
	})

	step(t, "a preview touches nothing in the cluster", func(t *testing.T) {
		before := snapshots(t, w)
		out := r.preview(t, inputs)
		wantUntouched(t, w, before)
		wantSecret(t, out, "caKeyPem")
		if getNamespace(t, c, istioNS) != nil {
			t.Errorf("preview created namespace %s", istioNS)
		}
	})

	step(t, "create writes the four files and creates istio-system", func(t *testing.T) {
		r.create(t, inputs)
		wantCACerts(t, c, map[string]string{
			"ca-cert.pem":    certPem.AsString(),
			"ca-key.pem":     keyPem.AsString(),
			"root-cert.pem":  strings.TrimRight(rootPem.AsString(), "\n") + "\n",
			"cert-chain.pem": chainPem.AsString(),
		})
		ns := getNamespace(t, c, istioNS)
		if ns == nil {
			t.Fatalf("namespace %s was not created", istioNS)
		}
		if got := ns.Labels["app.kubernetes.io/managed-by"]; got != "ristio" {
			t.Errorf("namespace %s managed-by label = %q, want ristio", istioNS, got)
		}
		if r.str("checksum") == "" {
			t.Errorf("checksum is empty after create")
		}
	})

	step(t, "create keeps the key and the kubeconfig secret", func(t *testing.T) {
		wantSecret(t, r.state, "caKeyPem")
		wantSecret(t, r.state, "cluster", "kubeconfig")
	})

	step(t, "a fresh secret has no diff", func(t *testing.T) {
		wantNoChanges(t, r.diff(t, inputs))
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a secret deleted by hand reads back with an empty checksum", func(t *testing.T) {
		if err := c.Client.CoreV1().Secrets(istioNS).Delete(ctx, "cacerts", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		if got := r.str("checksum"); got != "" {
			t.Errorf("checksum after the secret was deleted = %q, want empty", got)
		}
		wantSecret(t, r.state, "caKeyPem")
	})

	step(t, "a deleted secret diffs as an update, not a replacement", func(t *testing.T) {
		wantUpdate(t, r.diff(t, inputs), "checksum")
	})

	step(t, "an update writes the deleted secret again", func(t *testing.T) {
		r.update(t, inputs)
		if getSecret(t, c, istioNS, "cacerts") == nil {
			t.Fatalf("update did not write cacerts again")
		}
		if r.str("checksum") == "" {
			t.Errorf("checksum is empty after the repair")
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	newCert, newKey, newRoot, newChain := clusterCA(t, s, c.Name)
	rotated := inputs.Set("caCertPem", newCert).Set("caKeyPem", newKey).Set("rootCertPem", newRoot).Set("certChainPem", newChain)

	step(t, "a new intermediate is an update in place", func(t *testing.T) {
		d := r.diff(t, inputs.Set("caCertPem", newCert))
		wantUpdate(t, d, "caCertPem")
		if len(d.DetailedDiff) != 1 {
			t.Errorf("diff = %v, want caCertPem only", d.DetailedDiff)
		}
		wantUpdate(t, r.diff(t, rotated), "caKeyPem")
	})

	step(t, "a preview of the update touches nothing in the cluster", func(t *testing.T) {
		before := snapshots(t, w)
		out := r.previewUpdate(t, rotated)
		wantUntouched(t, w, before)
		wantSecret(t, out, "caKeyPem")
	})

	step(t, "the update writes the new intermediate", func(t *testing.T) {
		r.update(t, rotated)
		wantCACerts(t, c, map[string]string{
			"ca-cert.pem":    newCert.AsString(),
			"ca-key.pem":     newKey.AsString(),
			"root-cert.pem":  strings.TrimRight(newRoot.AsString(), "\n") + "\n",
			"cert-chain.pem": newChain.AsString(),
		})
		wantSecret(t, r.state, "caKeyPem")
		wantSecret(t, r.state, "cluster", "kubeconfig")
		wantNoChanges(t, r.diff(t, rotated))
	})

	step(t, "another cluster name is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, rotated.Set("cluster", withName(rotated.Get("cluster"), "cluster9"))), "cluster")
	})

	step(t, "delete removes the secret and the namespace it created", func(t *testing.T) {
		r.delete(t)
		if getSecret(t, c, istioNS, "cacerts") != nil {
			t.Errorf("cacerts survived delete")
		}
		if ns := getNamespace(t, c, istioNS); ns != nil {
			t.Errorf("namespace %s survived delete (phase %s)", istioNS, ns.Status.Phase)
		}
	})

	step(t, "delete keeps an istio-system that existed before", func(t *testing.T) {
		_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: istioNS, Labels: map[string]string{"owner": "platform-team"},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		existing := newResource(s, "CACerts", "cacerts-existing-namespace")
		in := existing.check(t, raw)
		existing.create(t, in)
		if getSecret(t, c, istioNS, "cacerts") == nil {
			t.Fatalf("cacerts was not written")
		}
		existing.delete(t)
		if getSecret(t, c, istioNS, "cacerts") != nil {
			t.Errorf("cacerts survived delete")
		}
		ns := getNamespace(t, c, istioNS)
		switch {
		case ns == nil:
			t.Fatalf("delete removed namespace %s, which it did not create", istioNS)
		case ns.DeletionTimestamp != nil:
			t.Errorf("delete is removing namespace %s, which it did not create", istioNS)
		case ns.Labels["owner"] != "platform-team" || ns.Labels["app.kubernetes.io/managed-by"] != "":
			t.Errorf("namespace %s labels = %v, want the owner's labels untouched", istioNS, ns.Labels)
		}
	})

	step(t, "a cacerts ristio did not make is refused, and left as it was", func(t *testing.T) {
		foreign := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "cacerts", Namespace: istioNS},
			Data:       map[string][]byte{"ca-cert.pem": []byte("from ristioctl")},
		}
		if _, err := c.Client.CoreV1().Secrets(istioNS).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		taker := newResource(s, "CACerts", "cacerts-takeover")
		_, err := s.Create(p.CreateRequest{Urn: taker.urn, Properties: taker.check(t, raw), Timeout: lifecycleTimeout})
		if err == nil || !strings.Contains(err.Error(), "Secret istio-system/cacerts already exists and was not created by ristio") {
			t.Fatalf("create over a foreign cacerts: %v, want a refusal", err)
		}
		if !strings.Contains(err.Error(), "or set adopt: true on the cluster to take it over") {
			t.Errorf("the refusal does not mention adopt: %v", err)
		}
		got := getSecret(t, c, istioNS, "cacerts")
		if got == nil || string(got.Data["ca-cert.pem"]) != "from ristioctl" || len(got.Data) != 1 {
			t.Errorf("the foreign cacerts was changed: %v", got)
		}
	})

	step(t, "with adopt the foreign cacerts is taken over in place", func(t *testing.T) {
		before := getSecret(t, c, istioNS, "cacerts")
		adopting := map[string]property.Value{"adopt": property.New(true)}
		for k, v := range raw {
			adopting[k] = v
		}
		taker := newResource(s, "CACerts", "cacerts-adopt")
		taker.create(t, taker.check(t, adopting))
		wantCACerts(t, c, map[string]string{
			"ca-cert.pem":    certPem.AsString(),
			"ca-key.pem":     keyPem.AsString(),
			"root-cert.pem":  strings.TrimRight(rootPem.AsString(), "\n") + "\n",
			"cert-chain.pem": chainPem.AsString(),
		})
		if after := getSecret(t, c, istioNS, "cacerts"); after.UID != before.UID {
			t.Errorf("the foreign cacerts was replaced, not taken over")
		}
		taker.delete(t)
		if getSecret(t, c, istioNS, "cacerts") != nil {
			t.Errorf("the adopted cacerts survived its resource's delete")
		}
	})
}

// wantCACerts checks the live cacerts secret holds exactly want, and is
// marked as ristio's.
func wantCACerts(t *testing.T, c *localcluster.Cluster, want map[string]string) {
	t.Helper()
	s := getSecret(t, c, istioNS, "cacerts")
	if s == nil {
		t.Fatalf("%s: secret %s/cacerts does not exist", c.Name, istioNS)
	}
	if len(s.Data) != len(want) {
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		t.Errorf("cacerts keys = %v, want the 4 files", keys)
	}
	for k, v := range want {
		if got := string(s.Data[k]); got != v {
			t.Errorf("cacerts %s differs from the input (%d bytes, want %d)", k, len(got), len(v))
		}
	}
	if s.Labels["app.kubernetes.io/managed-by"] != "ristio" {
		t.Errorf("cacerts labels = %v, want managed-by ristio", s.Labels)
	}
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("cacerts type = %s, want Opaque", s.Type)
	}
}
