package provider_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// TestIstioControlPlaneLifecycle installs istio-base and istiod from a chart
// directory through the provider, loses istiod to a hand uninstall, repairs
// it, upgrades it in place and uninstalls it.
func TestIstioControlPlaneLifecycle(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	ctx := context.Background()
	s := lifecycleServer(t, &clock{now: time.Now()})
	charts := testcharts.Directory(t)
	r := newResource(s, "IstioControlPlane", "control-plane")
	var inputs property.Map

	step(t, "check accepts a chart directory and an exact version", func(t *testing.T) {
		inputs = r.check(t, controlPlaneInputs(t, w, c.Name, charts))
	})

	step(t, "a preview touches nothing in the cluster", func(t *testing.T) {
		before := snapshots(t, w)
		r.preview(t, inputs)
		wantUntouched(t, w, before)
	})

	step(t, "create installs istio-base and istiod and labels the namespace with the network", func(t *testing.T) {
		r.create(t, inputs)
		for _, release := range []string{"istio-base", "istiod"} {
			if status, rev := helmRelease(t, c, release); status != "deployed" || rev != 1 {
				t.Errorf("release %s: status %q revision %d, want deployed revision 1", release, status, rev)
			}
		}
		if r.str("baseStatus") != "deployed" || r.str("istiodStatus") != "deployed" || r.num("baseRevision") != 1 || r.num("istiodRevision") != 1 {
			t.Errorf("state: base %s r%d, istiod %s r%d; want both deployed at revision 1",
				r.str("baseStatus"), r.num("baseRevision"), r.str("istiodStatus"), r.num("istiodRevision"))
		}
		ns := getNamespace(t, c, istioNS)
		if ns == nil {
			t.Fatalf("namespace %s does not exist", istioNS)
		}
		if got := ns.Labels["topology.istio.io/network"]; got != "network1" {
			t.Errorf("namespace network label = %q, want network1", got)
		}
		d, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment istiod: %v", err)
		}
		if d.Status.AvailableReplicas < 1 {
			t.Errorf("create returned before istiod was available: %+v", d.Status)
		}
		if _, err := dynamicFor(t, c).Resource(crdGVR).Get(ctx, "gateways.networking.istio.io", metav1.GetOptions{}); err != nil {
			t.Errorf("istio-base did not install the Gateway CRD: %v", err)
		}
	})

	step(t, "a fresh control plane reads back unchanged and has no diff", func(t *testing.T) {
		wantNoChanges(t, r.diff(t, inputs))
		r.read(t)
		if r.str("baseStatus") != "deployed" || r.str("istiodStatus") != "deployed" {
			t.Errorf("read: base %q, istiod %q; want both deployed", r.str("baseStatus"), r.str("istiodStatus"))
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "istiod uninstalled by hand reads back with an empty status", func(t *testing.T) {
		if err := helmClient(t, w, c.Name).Uninstall(ctx, "istiod"); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		if got := r.str("istiodStatus"); got != "" {
			t.Errorf("istiodStatus after a hand uninstall = %q, want empty", got)
		}
		if got := r.str("baseStatus"); got != "deployed" {
			t.Errorf("baseStatus = %q, want deployed", got)
		}
	})

	step(t, "a missing istiod diffs as an update, not a replacement", func(t *testing.T) {
		wantUpdate(t, r.diff(t, inputs), "istiodStatus")
	})

	step(t, "the update installs istiod again", func(t *testing.T) {
		r.update(t, inputs)
		if status, _ := helmRelease(t, c, "istiod"); status != "deployed" {
			t.Errorf("release istiod status = %q after the repair, want deployed", status)
		}
		if r.str("istiodStatus") != "deployed" {
			t.Errorf("istiodStatus = %q after the repair", r.str("istiodStatus"))
		}
		if _, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{}); err != nil {
			t.Errorf("deployment istiod after the repair: %v", err)
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a quiet change (a longer timeout) touches nothing in the cluster", func(t *testing.T) {
		quiet := inputs.Set("timeoutSeconds", property.New(lifecycleTimeout+60))
		_, before := helmRelease(t, c, "istiod")
		_, baseBefore := helmRelease(t, c, "istio-base")
		r.update(t, quiet)
		if _, after := helmRelease(t, c, "istiod"); after != before {
			t.Errorf("release istiod revision %d after a quiet update, want %d", after, before)
		}
		if _, after := helmRelease(t, c, "istio-base"); after != baseBefore {
			t.Errorf("release istio-base revision %d after a quiet update, want %d", after, baseBefore)
		}
		r.update(t, inputs)
	})

	upgraded := inputs.Set("istioVersion", str("1.28.2"))

	step(t, "a version bump is an upgrade in place", func(t *testing.T) {
		d := r.diff(t, upgraded)
		wantUpdate(t, d, "istioVersion")
		if len(d.DetailedDiff) != 1 {
			t.Errorf("diff = %v, want istioVersion only", d.DetailedDiff)
		}
	})

	step(t, "the upgrade bumps both Helm revisions and the istiod image", func(t *testing.T) {
		base, istiod := r.num("baseRevision"), r.num("istiodRevision")
		r.update(t, upgraded)
		if got := r.num("baseRevision"); got != base+1 {
			t.Errorf("baseRevision = %d, want %d", got, base+1)
		}
		if got := r.num("istiodRevision"); got != istiod+1 {
			t.Errorf("istiodRevision = %d, want %d", got, istiod+1)
		}
		if status, rev := helmRelease(t, c, "istiod"); status != "deployed" || rev != istiod+1 {
			t.Errorf("release istiod: status %q revision %d, want deployed revision %d", status, rev, istiod+1)
		}
		d, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if image := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(image, ":1.28.2") {
			t.Errorf("istiod image = %s, want tag 1.28.2", image)
		}
		wantNoChanges(t, r.diff(t, upgraded))
	})

	step(t, "another cluster name is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, upgraded.Set("cluster", withName(upgraded.Get("cluster"), "cluster9"))), "cluster")
	})

	step(t, "delete uninstalls both releases and the namespace it made", func(t *testing.T) {
		r.delete(t)
		for _, release := range []string{"istio-base", "istiod"} {
			if status, rev := helmRelease(t, c, release); rev != 0 {
				t.Errorf("release %s survived delete: status %q revision %d", release, status, rev)
			}
		}
		eventually(t, "namespace istio-system to be deleted", func() (bool, error) {
			_, err := c.Client.CoreV1().Namespaces().Get(ctx, istioNS, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
}

// controlPlaneInputs are IstioControlPlane inputs for one cluster of w on
// network1, from charts in dir.
func controlPlaneInputs(t *testing.T, w *localcluster.World, cluster, dir string) map[string]property.Value {
	t.Helper()
	return map[string]property.Value{
		"cluster":        fileConn(w, cluster),
		"meshId":         str("mesh1"),
		"network":        str("network1"),
		"istioVersion":   str("1.28.1"),
		"chartDirectory": str(dir),
		"timeoutSeconds": property.New(lifecycleTimeout),
	}
}

// createControlPlane installs a control plane through s, for resources
// that need one, and returns it so the test can delete it.
func createControlPlane(t *testing.T, s integration.Server, w *localcluster.World, cluster, dir string) *resource {
	t.Helper()
	cp := newResource(s, "IstioControlPlane", "control-plane-"+cluster)
	cp.create(t, cp.check(t, controlPlaneInputs(t, w, cluster, dir)))
	return cp
}

// helmClient is a Helm client on istio-system of one cluster of w, to change
// releases behind the provider's back.
func helmClient(t *testing.T, w *localcluster.World, cluster string) *helm.Client {
	t.Helper()
	cc, err := kubeconfig.Source{File: w.Kubeconfig, Context: cluster}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := helm.New(cc, istioNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}
