package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestMeshWithRevision: a revisioned control plane (istiod-<rev>), and the
// sample namespace selecting it with istio.io/rev instead of istio-injection.
func TestMeshWithRevision(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: testcharts.Directory(t), helloWorld: true, revision: "canary"}
	stack := pulumitest.InlineStack(t, "ristio-revision", meshProgram(spec))
	t.Cleanup(func() { _, _ = stack.Destroy(context.Background()) })
	res := pulumitest.Up(t, stack)
	assertMesh(t, w, spec.clusters, res.Outputs)
	ctx := context.Background()
	for _, c := range w.Clusters {
		if _, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod-canary", metav1.GetOptions{}); err != nil {
			t.Errorf("%s: revisioned istiod: %v", c.Name, err)
		}
		if s := releaseStatus(t, c, "istiod-canary"); s != "deployed" {
			t.Errorf("%s: release istiod-canary is %q, want deployed", c.Name, s)
		}
		ns, err := c.Client.CoreV1().Namespaces().Get(ctx, "sample", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ns.Labels["istio.io/rev"] != "canary" || ns.Labels["istio-injection"] != "" {
			t.Errorf("%s: sample namespace labels %v, want istio.io/rev=canary only", c.Name, ns.Labels)
		}
	}
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Fatalf("preview after up: %v", got)
	}

	// The same revision as a one-entry revisions list: the control plane is
	// kept as it is (by alias); the tag is new, and the gateway, sample and
	// check now follow it instead of naming the revision.
	spec.revision, spec.revisions, spec.defaultRevision = "", []revisionSpec{{"canary", "1.28.1"}}, "canary"
	setProgram(t, &stack, spec)
	want := map[string]string{}
	for _, c := range names(spec.clusters) {
		want["mesh-"+c+"-default-tag"] = "create"
		for _, child := range []string{"-eastwest", "-helloworld", "-check"} {
			want["mesh-"+c+child] = "update"
		}
	}
	if got := previewSteps(t, stack); !equalSteps(got, want) {
		t.Fatalf("moving to revisions: [canary] previews %v, want %v", got, want)
	}
	pulumitest.Up(t, stack)
	for _, c := range w.Clusters {
		assertTag(t, c, "canary", "istiod-canary")
	}
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Fatalf("preview after moving to revisions: %v", got)
	}
}
