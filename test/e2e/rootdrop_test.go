package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

// TestRootDropWaitsForEveryCluster runs the first two steps of a rotation on
// 3 clusters, then puts cluster3 back on its step-1 cacerts (what a cluster
// that missed step 2, or was restored from a backup, holds): its istiod signs
// from the old root again. Step 3 (dropping the old root) is then refused at
// preview and at up, naming cluster3 alone, and no cacerts is written. Once
// cluster3 has caught up (`up --refresh` with step 2's roots rewrites its
// cacerts, and its istiod reloads them), step 3 passes.
func TestRootDropWaitsForEveryCluster(t *testing.T) {
	t.Parallel()
	w := world(t, 3)
	ctx := context.Background()
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 3), chartDirectory: testcharts.Directory(t), timeoutSeconds: 120}
	old := pulumi.Map{"name": pulumi.String("default"), "keyType": pulumi.String("ECDSA")}
	next := pulumi.Map{"name": pulumi.String("next"), "keyType": pulumi.String("ECDSA")}
	listed := func(roots ...pulumi.Map) pulumi.Map { return pulumi.Map{"roots": rootArray(roots)} }

	r := rotation{t: t, w: w, spec: spec, stackName: "ristio-rootdrop"}
	r.spec.certificate = listed(old)
	r.stack = pulumitest.InlineStack(t, r.stackName, meshProgram(r.spec))
	t.Cleanup(func() { _, _ = r.stack.Destroy(context.Background()) })
	pulumitest.Up(t, r.stack)
	r.istiods = r.istiodRestarts()

	apply := func(certificate pulumi.Map, opts ...optup.Option) {
		t.Helper()
		r.spec.certificate = certificate
		setProgram(t, &r.stack, r.spec)
		start := time.Now()
		pulumitest.Up(t, r.stack, opts...)
		t.Logf("up took %s", time.Since(start).Round(time.Millisecond))
	}
	apply(listed(old, next))
	stepOne := r.cacerts()["cluster3"]
	apply(listed(next, old))
	stepTwo := r.cacerts()["cluster3"]

	// cluster3 falls back to step 1, and its istiod signs from the old root.
	lagging := w.Cluster("cluster3")
	secret, err := lagging.Client.CoreV1().Secrets(istioNS).Get(ctx, "cacerts", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data = stepOne.Data
	if _, err := lagging.Client.CoreV1().Secrets(istioNS).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitServing(t, lagging, stepOne.Data["ca-cert.pem"])

	t.Run("dropping the old root is refused while cluster3 lags", func(t *testing.T) {
		before := r.cacerts()
		r.spec.certificate = listed(next)
		setProgram(t, &r.stack, r.spec)
		start := time.Now()
		_, err := r.stack.Preview(ctx)
		t.Logf("refused preview took %s", time.Since(start).Round(time.Millisecond))
		assertLagRefusal(t, "preview", err)
		start = time.Now()
		_, err = r.stack.Up(ctx)
		t.Logf("refused up took %s", time.Since(start).Round(time.Millisecond))
		assertLagRefusal(t, "up", err)
		for name, s := range r.cacerts() {
			if s.ResourceVersion != before[name].ResourceVersion {
				t.Errorf("%s's cacerts was written though the drop was refused", name)
			}
		}
	})

	t.Run("once cluster3 has caught up, the old root is dropped", func(t *testing.T) {
		apply(listed(next, old), optup.Refresh())
		now := r.cacerts()["cluster3"]
		if !pki.SameCertificates(now.Data["ca-cert.pem"], stepTwo.Data["ca-cert.pem"]) {
			t.Fatal("up --refresh with step 2's roots did not rewrite cluster3's cacerts")
		}
		waitServing(t, lagging, stepTwo.Data["ca-cert.pem"])
		want := map[string]string{"mesh-root-ca": "delete"}
		for _, c := range names(r.spec.clusters) {
			want["mesh-"+c+"-ca"], want["mesh-"+c+"-cacerts"], want["mesh-"+c+"-check"] = "update", "update", "update"
		}
		r.step("3: drop the old root", listed(next), want)
	})
}

// assertLagRefusal checks that a step dropping the old root failed naming
// cluster3 as lagging, and cluster3 alone.
func assertLagRefusal(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want a refusal naming cluster3", what)
	}
	msg := err.Error()
	for _, want := range []string{"this step stops trusting", "these clusters lag behind: cluster3 (", "Finish step 2 on them first"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: refusal does not say %q:\n%s", what, want, headLines(msg, 40))
		}
	}
	for _, ready := range []string{"cluster1 (", "cluster2 ("} {
		if strings.Contains(msg, "lag behind: "+ready) || strings.Contains(msg, "; "+ready) {
			t.Errorf("%s: refusal names %s as lagging:\n%s", what, strings.TrimSuffix(ready, " ("), headLines(msg, 40))
		}
	}
	if i := strings.Index(msg, "this step stops trusting"); i >= 0 {
		t.Logf("%s refused: ...%s", what, headLines(msg[i:], 1))
	}
}

// waitServing waits until every istiod of c serves a certificate signed by
// the intermediate caCertPEM: it has reloaded cacerts.
func waitServing(t *testing.T, c *localcluster.Cluster, caCertPEM []byte) {
	t.Helper()
	inter := parseCert(t, caCertPEM)
	client := istiodClient(t, c)
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		pods := istiodPods(t, c)
		serving := len(pods) > 0
		for _, pod := range pods {
			chain, err := client.PodTLSChain(ctx, istioNS, pod, 15012, "istiod.istio-system.svc")
			if err != nil || chain[0].CheckSignatureFrom(inter) != nil {
				serving = false
			}
		}
		cancel()
		if serving {
			t.Logf("%s: istiod serves from the intermediate after %s", c.Name, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("%s: istiod does not serve from the intermediate after %s", c.Name, time.Since(start).Round(time.Second))
		}
		time.Sleep(time.Second)
	}
}
