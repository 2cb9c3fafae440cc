package ambient_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestEastWestGatewayFollowsItsRevision: the canary path for an ambient
// east-west gateway. The Gateway's istio.io/rev picks the istiod that
// deploys it; with a second revision installed beside the first, moving the
// label hands the gateway over: the new revision re-renders its Deployment,
// whose proxies then get their configuration from the new istiod.
func TestEastWestGatewayFollowsItsRevision(t *testing.T) {
	start := time.Now()
	w, ctx := startWorld(t, 1)
	lc := w.Clusters[0]
	c := kubeClient(t, w, lc)
	installGatewayAPI(ctx, t, c)
	const oldRev, newRev = "1-30", "1-31"
	installAmbientIstioRevision(ctx, t, w, lc, network, oldRev)
	ns := naming.IstioNamespace

	// deployedBy waits until the gateway's Deployment says rev deployed it
	// and the Gateway is programmed for its current generation.
	deployedBy := func(t *testing.T, rev string) {
		t.Helper()
		step := time.Now()
		waitFor(ctx, t, "the gateway deployed by revision "+rev, func() (bool, string) {
			d, err := lc.Client.AppsV1().Deployments(ns).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if got := d.Spec.Template.Labels[naming.RevisionLabel]; got != rev {
				return false, fmt.Sprintf("pod template %s=%q", naming.RevisionLabel, got)
			}
			// The pods' discovery address names rev's istiod Service.
			tmpl, _ := json.Marshal(d.Spec.Template)
			if want := naming.IstiodDeployment(rev) + "." + ns + ".svc:15012"; !strings.Contains(string(tmpl), want) {
				return false, "pod template does not name " + want
			}
			live, err := c.Get(ctx, gatewayapi.GatewayGVK, ns, gatewayapi.EastWestGatewayName)
			if err != nil || live == nil {
				return false, fmt.Sprint(err)
			}
			s := gatewayapi.ReadGatewayStatus(live)
			return s.Programmed && len(s.Addresses) == 1, s.String()
		})
		t.Logf("gateway deployed by %s and programmed after %s", rev, time.Since(step).Round(time.Millisecond))
	}

	t.Run("the only revision deploys the Gateway labelled with it", func(t *testing.T) {
		gc, err := c.Get(ctx, gatewayapi.GatewayClassGVK, "", gatewayapi.EastWestClass)
		if err != nil || gc == nil {
			t.Fatalf("no GatewayClass %s with only revision %s: %v", gatewayapi.EastWestClass, oldRev, err)
		}
		if err := c.Apply(ctx, gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: network, Revision: oldRev})); err != nil {
			t.Fatal(err)
		}
		deployedBy(t, oldRev)
	})

	t.Run("a second revision beside it takes the gateway over when the label moves", func(t *testing.T) {
		hc, err := helm.New(clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: w.Kubeconfig},
			&clientcmd.ConfigOverrides{CurrentContext: lc.Name},
		), ns, func(string, ...any) {})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := charts.Source{Directory: testcharts.Directory(t)}.Load(ctx, charts.Istiod, "1.30.0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hc.Apply(ctx, naming.IstiodReleaseFor(newRev), ch, helmvalues.AmbientIstiod(helmvalues.AmbientIstiodOptions{IstiodOptions: helmvalues.IstiodOptions{
			MeshID: "mesh1", Cluster: lc.Name, Network: network, Hub: "docker.io/istio", Tag: "1.30.0", Revision: newRev,
		}})); err != nil {
			t.Fatal(err)
		}
		waitFor(ctx, t, "istiod "+newRev+" ready", func() (bool, string) {
			pods, err := c.RunningPods(ctx, ns, "app=istiod,"+naming.RevisionLabel+"="+newRev)
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
		// Both istiods run; the gateway stays with the revision it names.
		time.Sleep(3 * time.Second)
		deployedBy(t, oldRev)

		if err := c.Apply(ctx, gatewayapi.EastWestGateway(gatewayapi.EastWestGatewayOptions{Network: network, Revision: newRev})); err != nil {
			t.Fatal(err)
		}
		deployedBy(t, newRev)
	})
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}
