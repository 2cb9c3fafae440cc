package helm

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
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
		bad := twoObjectChart("demo2", "no-such-namespace")
		if r, err := c.Apply(ctx, "demo2", bad, nil); err == nil || r == nil || r.Status != "failed" {
			t.Fatalf("Apply() into a missing namespace = %+v, %v; want a failed release", r, err)
		}
		r, err := c.Apply(ctx, "demo2", twoObjectChart("demo2", ns), nil)
		if err != nil {
			t.Fatalf("Apply() after the failed take-over: %v", err)
		}
		if r.Action != ActionInstallOver || r.Status != "deployed" {
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

	// A run killed during an adopting install or upgrade leaves the
	// release pending, with a manifest that lists what it was taking over.
	for _, tc := range []struct {
		name     string
		statuses []release.Status
	}{
		{"demo3", []release.Status{release.StatusPendingInstall}},
		{"demo4", []release.Status{release.StatusFailed, release.StatusPendingUpgrade}},
	} {
		was := tc.statuses[len(tc.statuses)-1]
		t.Run("a take-over left "+was.String()+" is installed over, never uninstalled", func(t *testing.T) {
			before := istioctlMade(tc.name)
			ch := twoObjectChart(tc.name, ns)
			manifest, err := Render(ch, tc.name, ns, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.statuses {
				if err := c.cfg.Releases.Create(&release.Release{
					Name: tc.name, Namespace: ns, Version: i + 1, Chart: ch, Manifest: manifest,
					Info: &release.Info{Status: s, Description: "left by a run that was killed"},
				}); err != nil {
					t.Fatal(err)
				}
			}
			c.TakeOwnership = true
			defer func() { c.TakeOwnership = false }()
			r, err := c.Apply(ctx, tc.name, ch, nil)
			if err != nil {
				t.Fatalf("Apply() over the %s take-over: %v", was, err)
			}
			if r.Action != ActionInstallOver || r.Status != "deployed" || r.Revision != len(tc.statuses)+1 {
				t.Errorf("Apply() = %+v", r)
			}
			after, err := cms.Get(ctx, tc.name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the taken-over object is gone: %v", err)
			}
			if after.UID != before.UID {
				t.Error("the taken-over object was deleted and made again")
			}
			if after.Annotations[naming.HelmReleaseAnnotation] != tc.name {
				t.Errorf("taken-over object's annotations %v", after.Annotations)
			}
			interrupted, err := c.cfg.Releases.Get(tc.name, len(tc.statuses))
			if err != nil {
				t.Fatal(err)
			}
			if interrupted.Info.Status != release.StatusFailed {
				t.Errorf("the interrupted revision is %s, want failed", interrupted.Info.Status)
			}
		})
	}
}

// twoObjectChart renders ConfigMap name in the release namespace and
// name-other in ns.
func twoObjectChart(name, ns string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: "1.0.0"},
		Templates: []*chart.File{
			{Name: "templates/a.yaml", Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  fromChart: \"yes\"\n", name))},
			{Name: "templates/b.yaml", Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-other\n  namespace: %s\n", name, ns))},
		},
	}
}
