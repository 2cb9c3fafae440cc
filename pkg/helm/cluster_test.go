package helm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestAgainstALocalCluster installs Istio's three charts into a real API
// server, then upgrades, breaks, recovers and uninstalls them.
func TestAgainstALocalCluster(t *testing.T) {
	w := localcluster.StartT(t, 1)
	cluster := w.Clusters[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cluster.RunKubelet(ctx)
	cluster.RunLoadBalancer(ctx, localcluster.LBIP)

	ns := naming.IstioNamespace
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{naming.NetworkLabel: "network1"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: w.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: cluster.Name},
	)
	var debug strings.Builder
	c, err := New(cc, ns, func(format string, args ...any) { fmt.Fprintf(&debug, format+"\n", args...) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("helm debug log:\n%s", debug.String())
		}
	})
	dyn := dynamic.NewForConfigOrDie(cluster.Config)

	repo := testcharts.NewRepo(t, "1.0.0", "1.0.1")
	src := charts.Source{Repository: repo.URL, CacheDir: t.TempDir()}
	load := func(t *testing.T, name, version string) *chartT {
		t.Helper()
		ch, err := src.Load(ctx, name, version)
		if err != nil {
			t.Fatal(err)
		}
		return &chartT{Chart: ch}
	}
	istiodValues := helmvalues.Istiod(helmvalues.IstiodOptions{
		MeshID: "mesh1", Cluster: "cluster1", Network: "network1", Hub: "docker.io/istio", Tag: "1.0.0",
		MeshNetworks: []helmvalues.MeshNetwork{{Network: "network2", Cluster: "cluster2", GatewayAddress: "192.0.2.10"}},
	})
	gatewayValues := helmvalues.EastWestGateway(helmvalues.GatewayOptions{Network: "network1"})

	t.Run("install base, istiod and the east-west gateway", func(t *testing.T) {
		total := time.Now()
		for _, step := range []struct {
			release, chart string
			values         map[string]any
		}{
			{naming.BaseRelease, charts.Base, helmvalues.Base("")},
			{naming.IstiodRelease, charts.Istiod, istiodValues},
			{naming.EastWestRelease, charts.Gateway, gatewayValues},
		} {
			ch := load(t, step.chart, "1.0.0")
			start := time.Now()
			r, err := c.Apply(ctx, step.release, ch.Chart, step.values)
			if err != nil {
				t.Fatalf("%s: %v", step.release, err)
			}
			t.Logf("installed %s (%s-%s) in %s", step.release, r.Chart, r.ChartVersion, time.Since(start).Round(time.Millisecond))
			if r.Action != ActionInstall || r.Status != "deployed" || r.Revision != 1 {
				t.Errorf("%s: Apply() = %+v", step.release, r)
			}
		}
		t.Logf("base+istiod+gateway installed in %s", time.Since(total).Round(time.Millisecond))
	})

	t.Run("base created the CRDs and the reader service account", func(t *testing.T) {
		crds, err := dyn.Resource(crdGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, crd := range crds.Items {
			if strings.Contains(crd.GetName(), "istio.io") {
				names = append(names, crd.GetName())
			}
		}
		if len(names) < 10 {
			t.Errorf("only %d Istio CRDs: %v", len(names), names)
		}
		if _, err := cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, naming.ReaderServiceAccount, metav1.GetOptions{}); err != nil {
			t.Errorf("reader service account: %v", err)
		}
	})

	t.Run("istiod has our values", func(t *testing.T) {
		if _, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "istiod", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "istio", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cm.Data["mesh"], "meshId: mesh1") {
			t.Errorf("mesh config:\n%s", cm.Data["mesh"])
		}
		if !strings.Contains(cm.Data["meshNetworks"], "192.0.2.10") {
			t.Errorf("meshNetworks:\n%s", cm.Data["meshNetworks"])
		}
		if err := cluster.MakeDeploymentAvailable(ctx, ns, "istiod"); err != nil {
			t.Errorf("istiod never became available: %v", err)
		}
		mwc, _ := cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
		vwc, _ := cluster.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
		for _, m := range mwc.Items {
			t.Logf("mutating webhook configuration %s: %d webhooks, failurePolicy %s", m.Name, len(m.Webhooks), *m.Webhooks[0].FailurePolicy)
		}
		for _, v := range vwc.Items {
			t.Logf("validating webhook configuration %s: failurePolicy %s", v.Name, *v.Webhooks[0].FailurePolicy)
		}
	})

	t.Run("the gateway service is a load balancer on the four ports", func(t *testing.T) {
		svc, err := cluster.Client.CoreV1().Services(ns).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ports []string
		for _, p := range svc.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.Port))
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || strings.Join(ports, ",") != "status-port:15021,tls:15443,tls-istiod:15012,tls-webhook:15017" {
			t.Errorf("service %s %v", svc.Spec.Type, ports)
		}
		if svc.Labels[naming.NetworkLabel] != "network1" {
			t.Errorf("service labels %v", svc.Labels)
		}
		// Without a running istiod the sidecar injector cannot answer, and
		// its failurePolicy is Fail: the gateway's pods cannot be created.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			rs, _ := cluster.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=istio-eastwestgateway"})
			for _, r := range rs.Items {
				for _, cond := range r.Status.Conditions {
					if cond.Type == "ReplicaFailure" {
						t.Logf("gateway ReplicaSet %s: %s: %.300s", r.Name, cond.Reason, cond.Message)
						return
					}
				}
				if r.Status.Replicas > 0 {
					t.Logf("gateway ReplicaSet %s has %d pods", r.Name, r.Status.Replicas)
					return
				}
			}
			time.Sleep(time.Second)
		}
		t.Log("gateway ReplicaSet reported neither pods nor a failure within 20s")
	})

	t.Run("upgrading base to a new version upgrades its CRDs", func(t *testing.T) {
		start := time.Now()
		r, err := c.Apply(ctx, naming.BaseRelease, load(t, charts.Base, "1.0.1").Chart, helmvalues.Base(""))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("upgraded base in %s", time.Since(start).Round(time.Millisecond))
		if r.Action != ActionUpgrade || r.Revision != 2 || r.ChartVersion != "1.0.1" {
			t.Errorf("Apply() = %+v", r)
		}
		crd, err := dyn.Resource(crdGVR).Get(ctx, "virtualservices.networking.istio.io", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := crd.GetLabels()["helm.sh/chart"]; got != "base-1.0.1" {
			t.Errorf("CRD label helm.sh/chart = %q after the upgrade, want base-1.0.1", got)
		}
		if got := crd.GetLabels()["app.kubernetes.io/version"]; got != "1.0.1" {
			t.Errorf("CRD label app.kubernetes.io/version = %q", got)
		}
		vwc, err := cluster.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "istiod-default-validator", metav1.GetOptions{})
		if err == nil {
			t.Logf("after the upgrade istiod-default-validator has failurePolicy %s", *vwc.Webhooks[0].FailurePolicy)
		}
	})

	t.Run("upgrading istiod applies new values and bumps the revision", func(t *testing.T) {
		vals := helmvalues.Istiod(helmvalues.IstiodOptions{MeshID: "mesh1", Cluster: "cluster1", Network: "network1", Hub: "docker.io/istio", Tag: "1.0.1"})
		r, err := c.Apply(ctx, naming.IstiodRelease, load(t, charts.Istiod, "1.0.1").Chart, vals)
		if err != nil {
			t.Fatal(err)
		}
		if r.Action != ActionUpgrade || r.Revision != 2 {
			t.Errorf("Apply() = %+v", r)
		}
		d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "istiod", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "docker.io/istio/pilot:1.0.1" {
			t.Errorf("istiod image %s", img)
		}
		cm, _ := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "istio", metav1.GetOptions{})
		if strings.Contains(cm.Data["meshNetworks"], "192.0.2.10") {
			t.Error("meshNetworks of the previous values survived the upgrade")
		}
	})

	t.Run("a release left pending is rolled back, then upgraded", func(t *testing.T) {
		last, err := c.cfg.Releases.Last(naming.IstiodRelease)
		if err != nil {
			t.Fatal(err)
		}
		pending := *last
		info := *last.Info
		info.Status = release.StatusPendingUpgrade
		pending.Info = &info
		pending.Version = last.Version + 1
		if err := c.cfg.Releases.Create(&pending); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Get(context.Background(), naming.IstiodRelease); got.Status != "pending-upgrade" {
			t.Fatalf("Get() = %+v", got)
		}
		r, err := c.Apply(ctx, naming.IstiodRelease, load(t, charts.Istiod, "1.0.1").Chart, istiodValues)
		if err != nil {
			t.Fatal(err)
		}
		if r.Action != ActionRollbackPending || r.Status != "deployed" || r.Revision != pending.Version+2 {
			t.Errorf("Apply() = %+v", r)
		}
	})

	t.Run("a failed first install does not block the next Apply", func(t *testing.T) {
		bad := helmvalues.EastWestGateway(helmvalues.GatewayOptions{Network: "network1", Overrides: map[string]any{
			"name":   "broken-gateway",
			"labels": map[string]any{"not a valid label key!": "x"},
		}})
		r, err := c.Apply(ctx, "broken-gateway", load(t, charts.Gateway, "1.0.0").Chart, bad)
		if err == nil {
			t.Fatal("an invalid label was accepted")
		}
		t.Logf("failed install: %v", err)
		got, err := c.Get(context.Background(), "broken-gateway")
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || got.Status != "failed" {
			t.Fatalf("Get() after a failed install = %+v (Apply returned %+v)", got, r)
		}
		good := helmvalues.EastWestGateway(helmvalues.GatewayOptions{Network: "network1", Overrides: map[string]any{"name": "broken-gateway"}})
		r, err = c.Apply(ctx, "broken-gateway", load(t, charts.Gateway, "1.0.0").Chart, good)
		if err != nil {
			t.Fatalf("Apply() after a failed install: %v", err)
		}
		if r.Action != ActionReplaceFailed || r.Status != "deployed" || r.Revision != 1 {
			t.Errorf("Apply() = %+v", r)
		}
		if err := c.Uninstall(ctx, "broken-gateway"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an Apply cut short by its context does not block the next", func(t *testing.T) {
		vals := helmvalues.EastWestGateway(helmvalues.GatewayOptions{Network: "network1", Overrides: map[string]any{"name": "interrupted-gateway"}})
		ch := load(t, charts.Gateway, "1.0.0").Chart
		for _, d := range []time.Duration{20 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond, 350 * time.Millisecond} {
			short, cancel := context.WithTimeout(ctx, d)
			r, err := c.Apply(short, "interrupted-gateway", ch, vals)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v is not the context's", err)
			}
			got, _ := c.Get(context.Background(), "interrupted-gateway")
			t.Logf("Apply with %s: %+v, %v; stored: %+v", d, r, err, got)
		}
		r, err := c.Apply(ctx, "interrupted-gateway", ch, vals)
		if err != nil {
			t.Fatalf("Apply() after interrupted ones: %v", err)
		}
		t.Logf("recovered by %s to revision %d", r.Action, r.Revision)
		if r.Status != "deployed" {
			t.Errorf("Apply() = %+v", r)
		}
		if _, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "interrupted-gateway", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		if err := c.Uninstall(ctx, "interrupted-gateway"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("what is left of an Apply cut short ends before the next Apply begins", func(t *testing.T) {
		const name = "cut-short"
		var log workLog
		var waits atomic.Int32
		nextWaiting := make(chan struct{})
		c.trace = func(w string, e workEvent) {
			log.note(w + " " + e.String())
			if e == workWaiting && waits.Add(1) == 2 {
				close(nextWaiting)
			}
		}
		defer func() { c.trace = nil }()
		short, cancel := context.WithCancel(ctx)
		defer cancel()
		// Helm's Create outlives the Apply's caller until the next Apply
		// waits; then it goes on, under the ended context.
		var once sync.Once
		kc := c.cfg.KubeClient
		defer func() { c.cfg.KubeClient = kc }()
		c.cfg.KubeClient = stallingCluster{Client: kc.(*kube.Client), before: func() {
			once.Do(func() {
				cancel()
				<-nextWaiting
			})
		}}

		if _, err := c.Apply(short, name, demoChart("1.0.0"), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply() error = %v, want the context's", err)
		}
		log.note("the caller of the first apply returned")
		r, err := c.Apply(ctx, name, demoChart("1.0.0"), nil)
		if err != nil {
			t.Fatalf("Apply() after one cut short: %v", err)
		}

		want := strings.Join([]string{
			"apply cut-short waiting", "apply cut-short began", "the caller of the first apply returned",
			"apply cut-short waiting", "apply cut-short ended", "apply cut-short began", "apply cut-short ended",
		}, "\n")
		if log.String() != want {
			t.Errorf("events:\n%s\nwant:\n%s", &log, want)
		}
		// Helm's own write of the failure ran on the ended context; the
		// client's ran on one of its own, so the release was failed, not
		// pending, when the next Apply read it.
		if r.Action != ActionReplaceFailed || r.Status != "deployed" || r.Revision != 1 {
			t.Errorf("Apply() = %+v, want revision 1 via %s", r, ActionReplaceFailed)
		}
		if err := c.Uninstall(ctx, name); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("uninstall removes releases, keeps CRDs, and base installs again", func(t *testing.T) {
		for _, name := range []string{naming.EastWestRelease, naming.IstiodRelease, naming.BaseRelease} {
			if err := c.Uninstall(ctx, name); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got, err := c.Get(context.Background(), name); got != nil || err != nil {
				t.Errorf("Get(%s) after Uninstall = %+v, %v", name, got, err)
			}
		}
		if err := c.Uninstall(ctx, naming.IstiodRelease); err != nil {
			t.Errorf("second Uninstall: %v", err)
		}
		if _, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "istiod", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("istiod deployment after uninstall: %v", err)
		}
		crd, err := dyn.Resource(crdGVR).Get(ctx, "virtualservices.networking.istio.io", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("CRD gone after uninstalling base: %v", err)
		}
		logKept(t, crd)
		r, err := c.Apply(ctx, naming.BaseRelease, load(t, charts.Base, "1.0.1").Chart, helmvalues.Base(""))
		if err != nil {
			t.Fatalf("reinstalling base over the kept CRDs: %v", err)
		}
		if r.Action != ActionInstall || r.Status != "deployed" {
			t.Errorf("Apply() = %+v", r)
		}
	})
}

type chartT struct{ Chart *chart.Chart }

// stallingCluster is the cluster's kube client, with before run ahead of
// every Create.
type stallingCluster struct {
	*kube.Client
	before func()
}

func (s stallingCluster) Create(resources kube.ResourceList) (*kube.Result, error) {
	s.before()
	return s.Client.Create(resources)
}

func logKept(t *testing.T, crd *unstructured.Unstructured) {
	var keys []string
	for k := range crd.GetAnnotations() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("kept CRD %s with annotations %v", crd.GetName(), keys)
}
