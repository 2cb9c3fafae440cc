package helm

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestTakeOwnershipAgainstALocalCluster installs a release over objects
// another tool made, as adopting an istioctl install does, in a real API
// server.
func TestTakeOwnershipAgainstALocalCluster(t *testing.T) {
	w := localcluster.StartT(t, 1)
	cluster := w.Clusters[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := naming.IstioNamespace
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	// What istioctl leaves: no Helm marks, a field the chart does not render.
	istioctlMade := func(name string) *corev1.ConfigMap {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{naming.IstioctlOwnerLabel: "installed-state"}},
			Data:       map[string]string{"fromIstioctl": "yes"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: w.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: cluster.Name},
	)
	c, err := New(cc, ns, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("without take-ownership a foreign object is refused", func(t *testing.T) {
		istioctlMade("demo")
		_, err := c.Apply(ctx, "demo", demoChart("1.0.0"), nil)
		if err == nil || !strings.Contains(err.Error(), "cannot be imported into the current release") {
			t.Fatalf("Apply() error = %v, want Helm's ownership conflict", err)
		}
	})

	t.Run("with take-ownership the object becomes the release's, in place", func(t *testing.T) {
		before, err := cms.Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.TakeOwnership = true
		defer func() { c.TakeOwnership = false }()
		r, err := c.Apply(ctx, "demo", demoChart("1.0.0"), map[string]any{"a": "1"})
		if err != nil {
			t.Fatalf("Apply(): %v", err)
		}
		if r.Action != ActionInstall || r.Status != "deployed" {
			t.Errorf("Apply() = %+v", r)
		}
		after, err := cms.Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.UID != before.UID {
			t.Error("the object was replaced, not taken over")
		}
		if after.Annotations[naming.HelmReleaseAnnotation] != "demo" || after.Data["a"] != "1" {
			t.Errorf("taken-over object: annotations %v, data %v", after.Annotations, after.Data)
		}
	})

	t.Run("a failed take-over is installed over, never uninstalled", func(t *testing.T) {
		before := istioctlMade("demo2")
		c.TakeOwnership = true
		defer func() { c.TakeOwnership = false }()
		bad := twoObjectChart("no-such-namespace")
		if r, err := c.Apply(ctx, "demo2", bad, nil); err == nil || r == nil || r.Status != "failed" {
			t.Fatalf("Apply() into a missing namespace = %+v, %v; want a failed release", r, err)
		}
		r, err := c.Apply(ctx, "demo2", twoObjectChart(ns), nil)
		if err != nil {
			t.Fatalf("Apply() after the failed take-over: %v", err)
		}
		if r.Action != ActionReplaceFailed || r.Status != "deployed" {
			t.Errorf("Apply() = %+v", r)
		}
		after, err := cms.Get(ctx, "demo2", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the taken-over object is gone: %v", err)
		}
		if after.UID != before.UID {
			t.Error("the taken-over object was deleted and made again")
		}
	})
}

// twoObjectChart renders ConfigMap demo2 in the release namespace and
// another in ns.
func twoObjectChart(ns string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "demo2", Version: "1.0.0"},
		Templates: []*chart.File{
			{Name: "templates/a.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo2\ndata:\n  fromChart: \"yes\"\n")},
			{Name: "templates/b.yaml", Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo2-other\n  namespace: %s\n", ns))},
		},
	}
}
