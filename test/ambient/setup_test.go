package ambient_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// The steps a ristio ambient mesh will take per cluster, done by hand here
// until the provider does them.

// startWorld starts n local clusters with the kubelet and load-balancer
// emulators (IP addresses: a hostname would have to resolve in istiod's DNS
// to be listed, see TestIstiodDeploysTheEastWestGateway), and a context that
// bounds the test at 8 minutes.
func startWorld(t *testing.T, n int) (*localcluster.World, context.Context) {
	t.Helper()
	start := time.Now()
	w := localcluster.StartT(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	w.RunKubelet(ctx)
	w.RunLoadBalancer(ctx, localcluster.LBIP)
	t.Logf("%d local clusters up in %s", n, time.Since(start).Round(time.Millisecond))
	return w, ctx
}

// ambientPeers makes every cluster of w an ambient cluster on its own
// network with its east-west Gateway programmed, joins them with remote
// secrets, and returns each cluster's gateway address.
func ambientPeers(ctx context.Context, t *testing.T, w *localcluster.World) map[string]string {
	t.Helper()
	addresses := map[string]string{}
	for _, lc := range w.Clusters {
		c := kubeClient(t, w, lc)
		installGatewayAPI(ctx, t, c)
		installAmbientIstio(ctx, t, w, lc, naming.DefaultNetwork(lc.Name))
		if err := c.Apply(ctx, gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: naming.DefaultNetwork(lc.Name)})); err != nil {
			t.Fatal(err)
		}
		waitFor(ctx, t, lc.Name+": Gateway programmed", func() (bool, string) {
			live, err := c.Get(ctx, gatewayapi.GatewayGVK, naming.IstioNamespace, gatewayapi.EastWestGatewayName)
			if err != nil || live == nil {
				return false, fmt.Sprint(err)
			}
			s := gatewayapi.ReadGatewayStatus(live)
			if s.Programmed && len(s.Addresses) == 1 {
				addresses[lc.Name] = s.Addresses[0]
				return true, ""
			}
			return false, s.String()
		})
	}
	joinAll(ctx, t, w)
	return addresses
}

func kubeClient(t *testing.T, w *localcluster.World, lc *localcluster.Cluster) *kube.Client {
	t.Helper()
	c, err := kube.New(kubeconfig.Source{File: w.Kubeconfig, Context: lc.Name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// installGatewayAPI applies the pinned CRDs the way the rule says: each is
// absent on a fresh cluster (Create), and a second look keeps them all.
func installGatewayAPI(ctx context.Context, t *testing.T, c *kube.Client) {
	t.Helper()
	for _, crd := range gatewayapi.CRDs() {
		live, err := c.Get(ctx, crdGVK, "", crd.GetName())
		if err != nil {
			t.Fatal(err)
		}
		d := gatewayapi.Decide(gatewayapi.Version(), gatewayapi.InstalledFrom(crd.GetName(), live))
		if d.Action != gatewayapi.Create {
			t.Fatalf("fresh cluster: %s: %s", d.Action, d.Reason)
		}
		if err := c.Apply(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
	for _, crd := range gatewayapi.CRDs() {
		live, err := c.Get(ctx, crdGVK, "", crd.GetName())
		if err != nil || live == nil {
			t.Fatalf("%s after apply: %v", crd.GetName(), err)
		}
		if d := gatewayapi.Decide(gatewayapi.Version(), gatewayapi.InstalledFrom(crd.GetName(), live)); d.Action != gatewayapi.Keep {
			t.Errorf("second run would %s %s: %s", d.Action, crd.GetName(), d.Reason)
		}
	}
}

// installAmbientIstio creates istio-system labelled with the network,
// installs base, ambient istiod, cni and ztunnel with ristio's values, and
// waits for istiod (real) to be ready and the node agents' DaemonSets
// (emulated pods) to have a ready pod.
func installAmbientIstio(ctx context.Context, t *testing.T, w *localcluster.World, lc *localcluster.Cluster, network string) {
	t.Helper()
	installAmbientIstioRevision(ctx, t, w, lc, network, "")
}

// installAmbientIstioRevision is installAmbientIstio with istiod, cni and
// ztunnel of one revision ("" for none): base's default revision, istiod's
// release and the node agents' istiod all follow it.
func installAmbientIstioRevision(ctx context.Context, t *testing.T, w *localcluster.World, lc *localcluster.Cluster, network, revision string) {
	t.Helper()
	installAmbientIstioWith(ctx, t, w, lc, network, revision, nil)
}

// installAmbientIstioWith is installAmbientIstioRevision with the user's
// overrides of istiod's values.
func installAmbientIstioWith(ctx context.Context, t *testing.T, w *localcluster.World, lc *localcluster.Cluster, network, revision string, istiodOverrides map[string]any) {
	t.Helper()
	ns := naming.IstioNamespace
	if _, err := lc.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{naming.NetworkLabel: network},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hc, err := helm.New(clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: w.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: lc.Name},
	), ns, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	src := charts.Source{Directory: testcharts.Directory(t)}
	image := helmvalues.IstiodOptions{MeshID: "mesh1", Cluster: lc.Name, Network: network, Hub: "docker.io/istio", Tag: "1.30.0", Revision: revision, Overrides: istiodOverrides}
	for _, s := range []struct {
		release, chart string
		values         map[string]any
	}{
		{naming.BaseRelease, charts.Base, helmvalues.Base(revision)},
		{naming.IstiodReleaseFor(revision), charts.Istiod, helmvalues.AmbientIstiod(helmvalues.AmbientIstiodOptions{IstiodOptions: image})},
		{naming.CNIRelease, charts.CNI, helmvalues.CNI(helmvalues.CNIOptions{Hub: image.Hub, Tag: image.Tag, Revision: revision})},
		{naming.ZtunnelRelease, charts.Ztunnel, helmvalues.Ztunnel(helmvalues.ZtunnelOptions{Cluster: lc.Name, Network: network, Hub: image.Hub, Tag: image.Tag, Revision: revision})},
	} {
		step := time.Now()
		ch, err := src.Load(ctx, s.chart, "1.30.0")
		if err != nil {
			t.Fatal(err)
		}
		r, err := hc.Apply(ctx, s.release, ch, s.values)
		if err != nil {
			t.Fatalf("%s: %s: %v", lc.Name, s.release, err)
		}
		t.Logf("%s: %s: %s %s in %s", lc.Name, s.release, r.Action, r.Status, time.Since(step).Round(time.Millisecond))
	}
	c := kubeClient(t, w, lc)
	step := time.Now()
	waitFor(ctx, t, lc.Name+": istiod running and ready", func() (bool, string) {
		pods, err := c.RunningPods(ctx, ns, "app=istiod")
		if err != nil {
			return false, err.Error()
		}
		for _, p := range pods {
			if podReady(&p) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d running pods, none ready", len(pods))
	})
	t.Logf("%s: istiod (real pilot-discovery) ready in %s", lc.Name, time.Since(step).Round(time.Millisecond))
	for _, ds := range []string{"ztunnel", "istio-cni-node"} {
		waitFor(ctx, t, lc.Name+": DaemonSet "+ds+" scheduled (emulated pods)", func() (bool, string) {
			d, err := lc.Client.AppsV1().DaemonSets(ns).Get(ctx, ds, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return d.Status.NumberReady > 0, fmt.Sprintf("%d/%d ready", d.Status.NumberReady, d.Status.DesiredNumberScheduled)
		})
	}
}

// joinAll makes every cluster watch every other through a remote secret
// carrying a reader token, as ristio's RemoteSecret writes it.
func joinAll(ctx context.Context, t *testing.T, w *localcluster.World) {
	t.Helper()
	for _, watcher := range w.Clusters {
		for _, peer := range w.Clusters {
			if peer == watcher {
				continue
			}
			token, _, err := kubeClient(t, w, peer).RequestToken(ctx, naming.IstioNamespace, naming.ReaderServiceAccount, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			kc, err := kubeconfig.BuildRemote(peer.Name, peer.Config.Host, peer.Config.CAData, token)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := watcher.Client.CoreV1().Secrets(naming.IstioNamespace).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{
					Name: naming.RemoteSecret(peer.Name), Namespace: naming.IstioNamespace,
					Labels:      map[string]string{naming.MultiClusterLabel: "true"},
					Annotations: map[string]string{naming.ClusterAnnotation: peer.Name},
				},
				Data: map[string][]byte{peer.Name: kc},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// waitFor polls done every second until it is true, failing the test with
// the last word after 3 minutes or when ctx (the test's budget) ends;
// progress every 15 s.
func waitFor(ctx context.Context, t *testing.T, what string, done func() (bool, string)) {
	t.Helper()
	start, lastLog := time.Now(), time.Now()
	for {
		ok, why := done()
		if ok {
			return
		}
		if time.Since(lastLog) > 15*time.Second {
			t.Logf("waiting for %s (%s): %s", what, time.Since(start).Round(time.Second), why)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not after %s: %s", what, time.Since(start).Round(time.Second), why)
		case <-time.After(time.Second):
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("%s: not after %s: %s", what, time.Since(start).Round(time.Second), why)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
