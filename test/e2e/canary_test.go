package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// TestCanaryUpgrade walks a 2-cluster mesh through Istio's revision-based
// canary upgrade: from one control plane to a one-entry revisions list (no
// change), a second revision at a newer version beside it, the default tag
// moved to it, and the old revision removed. Both revisions' istiods run for
// real and MeshCheck asks every one of them.
//
// The local API servers run no admission webhooks, so what the tag webhook
// would inject is not exercised: the test checks where the webhook points,
// which injector is switched off, and that the gateways restart onto it.
func TestCanaryUpgrade(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	const oldV, newV, canary = "1.28.1", "1.28.2", "1-28-2"
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Package(t, oldV, newV), helloWorld: true}
	stack := pulumitest.InlineStack(t, "ristio-canary", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	pulumitest.Up(t, stack)
	all := names(spec.clusters)
	each := func(want map[string]string, suffix, op string) map[string]string {
		return eachCluster(want, all, suffix, op)
	}
	step := func(name string, want map[string]string) {
		t.Helper()
		upStep(t, &stack, spec, name, want)
	}

	spec.revisions = []revisionSpec{{"default", oldV}}
	spec.defaultRevision = "default"
	step("0: the control plane becomes revision default", each(map[string]string{}, "-default-tag", "create"))
	for _, c := range w.Clusters {
		assertTag(t, c, "default", "istiod")
		assertInjectorOff(t, c, true)
	}
	// Back to a mesh without revisions: the tag goes and the revision-less
	// injector is switched back on; then forward again.
	spec.revisions, spec.defaultRevision = nil, ""
	step("0b: leave revisions", each(map[string]string{}, "-default-tag", "delete"))
	for _, c := range w.Clusters {
		assertInjectorOff(t, c, false)
	}
	spec.revisions, spec.defaultRevision = []revisionSpec{{"default", oldV}}, "default"
	step("0c: back to revision default", each(map[string]string{}, "-default-tag", "create"))

	spec.revisions = append(spec.revisions, revisionSpec{canary, newV})
	want := each(map[string]string{}, "-istio-"+canary, "create")
	step("1: add the canary revision", each(want, "-check", "update"))
	for _, c := range w.Clusters {
		// Both revisions' istiods sync their peer.
		peer := peersOf(all, c.Name)[0]
		waitClusterz(t, c, "synced "+peer, func(m map[string]string) bool { return m[peer] == "synced" })
		for _, d := range []string{"istiod", "istiod-" + canary} {
			if _, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, d, metav1.GetOptions{}); err != nil {
				t.Errorf("%s: deployment %s: %v", c.Name, d, err)
			}
		}
		if pods := istiodPods(t, c); len(pods) != 2 {
			t.Errorf("%s: running istiods %v, want one per revision", c.Name, pods)
		}
		// One reader identity serves both revisions' istiods in the peers.
		for _, rev := range []string{"", "-" + canary} {
			b, err := c.Client.RbacV1().ClusterRoleBindings().Get(ctx, "istio-reader-clusterrole"+rev+"-istio-system", metav1.GetOptions{})
			if err != nil || len(b.Subjects) != 1 || b.Subjects[0].Name != "istio-reader-service-account" {
				t.Errorf("%s: reader binding for revision %q: %v %v", c.Name, rev, b, err)
			}
		}
		if v := helmRelease(t, w.Kubeconfig, c, "istio-base").ChartVersion; v != newV {
			t.Errorf("%s: istio-base at %s, want the newest revision's %s", c.Name, v, newV)
		}
		assertTag(t, c, "default", "istiod")
	}

	spec.defaultRevision = canary
	want = each(map[string]string{}, "-default-tag", "update")
	each(want, "-eastwest", "update")
	step("2: move the default tag to the canary", each(want, "-helloworld", "update"))
	for _, c := range w.Clusters {
		assertTag(t, c, canary, "istiod-"+canary)
		assertInjectorOff(t, c, true)
		gw, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
		if err != nil || gw.Spec.Template.Annotations["ristio.io/proxy-revision"] != canary {
			t.Errorf("%s: gateway pod template does not follow the tag to %s: %v", c.Name, canary, err)
		}
		if v := helmRelease(t, w.Kubeconfig, c, "istio-base").Values["defaultRevision"]; v != canary {
			t.Errorf("%s: istiod-default-validator points at %q, want %s", c.Name, v, canary)
		}
	}

	t.Run("removing the revision the tag points at is refused", func(t *testing.T) {
		bad := spec
		bad.revisions = spec.revisions[:1]
		setProgram(t, &stack, bad)
		_, err := stack.Preview(ctx)
		if err == nil || !strings.Contains(err.Error(), "defaultRevision") || !strings.Contains(err.Error(), "move defaultRevision") {
			t.Fatalf("preview: %v, want a refusal naming defaultRevision", err)
		}
		bad = spec
		bad.revision = "other"
		setProgram(t, &stack, bad)
		if _, err := stack.Preview(ctx); err == nil || !strings.Contains(err.Error(), "revision: not with revisions") {
			t.Fatalf("preview: %v, want a refusal naming revision and revisions", err)
		}
	})

	spec.revisions = spec.revisions[1:]
	want = each(map[string]string{}, "-istio", "delete")
	step("3: remove the old revision", each(want, "-check", "update"))
	for _, c := range w.Clusters {
		peer := peersOf(all, c.Name)[0]
		waitClusterz(t, c, "synced "+peer, func(m map[string]string) bool { return m[peer] == "synced" })
		if pods := istiodPods(t, c); len(pods) != 1 || !strings.HasPrefix(pods[0], "istiod-"+canary) {
			t.Errorf("%s: running istiods %v, want the canary's only", c.Name, pods)
		}
		if _, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the old istiod is still there (%v)", c.Name, err)
		}
		if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "istio-sidecar-injector", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the old revision's injector is still there (%v)", c.Name, err)
		}
		if s := releaseStatus(t, c, "istiod"); s != "" {
			t.Errorf("%s: release istiod is %q, want gone", c.Name, s)
		}
		if s := releaseStatus(t, c, "istio-base"); s != "deployed" {
			t.Errorf("%s: istio-base is %q, want kept for the canary", c.Name, s)
		}
		assertTag(t, c, canary, "istiod-"+canary)
	}

	if _, err := stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	for _, c := range w.Clusters {
		meshassert.NothingLeft(t, c)
	}
}

// eachCluster adds to want, for every cluster of all, the step op of its
// child mesh-<cluster><suffix>, and returns want.
func eachCluster(want map[string]string, all []string, suffix, op string) map[string]string {
	for _, c := range all {
		want["mesh-"+c+suffix] = op
	}
	return want
}

// upStep runs one day-2 step of stack: the program of spec previews exactly
// the steps want, up ends with every pair synced, and a second preview
// shows no changes. It returns up's outputs.
func upStep(t *testing.T, stack *auto.Stack, spec meshSpec, name string, want map[string]string) auto.OutputMap {
	t.Helper()
	setProgram(t, stack, spec)
	if got := previewSteps(t, *stack); !equalSteps(got, want) {
		t.Fatalf("%s: preview steps %v, want %v", name, got, want)
	}
	start := time.Now()
	res := pulumitest.Up(t, *stack)
	t.Logf("%s: up took %s", name, time.Since(start).Round(time.Millisecond))
	assertMeshStatus(t, res.Outputs, names(spec.clusters))
	if got := previewSteps(t, *stack); len(got) != 0 {
		t.Fatalf("%s: preview after up: %v, want no changes", name, got)
	}
	return res.Outputs
}

// assertTag checks that istio-revision-tag-default points at revision's istiod Service.
func assertTag(t *testing.T, c *localcluster.Cluster, revision, service string) {
	t.Helper()
	wh, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), "istio-revision-tag-default", metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s: default tag: %v", c.Name, err)
		return
	}
	if wh.Labels["istio.io/rev"] != revision || wh.Labels["istio.io/tag"] != "default" {
		t.Errorf("%s: default tag labels %v, want istio.io/rev=%s", c.Name, wh.Labels, revision)
	}
	if len(wh.Webhooks) == 0 {
		t.Errorf("%s: default tag has no webhooks", c.Name)
	}
	for _, h := range wh.Webhooks {
		if h.ClientConfig.Service == nil || h.ClientConfig.Service.Name != service {
			t.Errorf("%s: default tag webhook %s calls %v, want service %s", c.Name, h.Name, h.ClientConfig.Service, service)
		}
	}
}

// assertInjectorOff checks whether the revision-less injector's webhooks match nothing.
func assertInjectorOff(t *testing.T, c *localcluster.Cluster, off bool) {
	t.Helper()
	wh, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), "istio-sidecar-injector", metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s: revision-less injector: %v", c.Name, err)
		return
	}
	for _, h := range wh.Webhooks {
		sel := h.NamespaceSelector
		never := sel != nil && len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 1 && sel.MatchExpressions[0].Key == "istio.io/deactivated"
		if never != off {
			t.Errorf("%s: injector webhook %s namespaceSelector %v, want off=%v", c.Name, h.Name, h.NamespaceSelector, off)
		}
	}
}

// helmRelease reads a release of istio-system through Helm.
func helmRelease(t *testing.T, kubeconfigFile string, c *localcluster.Cluster, name string) *helm.Release {
	t.Helper()
	cc, err := kubeconfig.Source{File: kubeconfigFile, Context: c.Name}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := helm.New(cc, istioNS, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := hc.Get(context.Background(), name)
	if err != nil || rel == nil {
		t.Fatalf("%s: release %s: %v, %v", c.Name, name, rel, err)
	}
	return rel
}
