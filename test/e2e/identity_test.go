package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

const meshMark = "ristio.io/mesh"

var identityReleases = []string{"istio-base", "istiod", "istio-eastwestgateway"}

// TestAnotherMeshIsForeign: two stacks on the same clusters. Stack A's
// mesh (cluster1 and cluster2) marks what it writes with its identity; a
// state from before the mark gets it on A's next up without a Helm upgrade
// or a rewrite. Stack B (another project, meshId devmesh, cluster1 only)
// is refused at preview and at up, naming cluster1, the object and A's
// identity, and its destroy deletes nothing of A's.
func TestAnotherMeshIsForeign(t *testing.T) {
	t.Parallel()
	start := time.Now()
	w := world(t, 2)
	ctx := context.Background()
	charts := testcharts.Directory(t)
	verify := false // istiod's own verdict is not what this test is about
	specA := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 2), chartDirectory: charts, verify: &verify}
	stackA := pulumitest.InlineStack(t, "ristio-mesh-a", meshProgram(specA))
	t.Cleanup(func() { _, _ = stackA.Destroy(ctx) })
	identityA := "ristio-mesh-a/test/mesh"

	pulumitest.Up(t, stackA)
	c1 := w.Cluster("cluster1")
	for _, c := range w.Clusters {
		if got := cacerts(t, c).Annotations[meshMark]; got != identityA {
			t.Errorf("%s: cacerts is marked %q, want %q", c.Name, got, identityA)
		}
		for _, rel := range identityReleases {
			if got := releaseMark(t, c, rel); !strings.HasPrefix(got, "ristio-mesh-a.test.mesh-") {
				t.Errorf("%s: release %s is marked %q, want A's identity", c.Name, rel, got)
			}
		}
	}

	t.Run("a state from before the mark gets it in place", func(t *testing.T) {
		forgetMarks(ctx, t, stackA, w)
		before := snapshotOf(t, c1)
		steps := previewSteps(t, stackA)
		for name, op := range steps {
			if op != "update" {
				t.Errorf("migration preview: %s would %s, want only updates", name, op)
			}
		}
		if len(steps) == 0 {
			t.Fatal("migration preview shows no change: the marks would never be added")
		}
		var out bytes.Buffer
		if _, err := stackA.Preview(ctx, optpreview.Diff(), optpreview.ProgressStreams(&out)); err != nil {
			t.Fatalf("preview: %v", err)
		}
		if !strings.Contains(out.String(), "meshIdentity") {
			t.Errorf("migration preview does not show the meshIdentity change:\n%s", out.String())
		}
		if strings.Contains(out.String(), "will be restarted") {
			t.Errorf("migration preview announces an istiod restart for a mark:\n%s", out.String())
		}
		pulumitest.Up(t, stackA)
		after := snapshotOf(t, c1)
		before.assertUnchangedBut(t, after, "migration")
		if got := cacerts(t, c1).Annotations[meshMark]; got != identityA {
			t.Errorf("cacerts is marked %q after migration, want %q", got, identityA)
		}
		for _, rel := range identityReleases {
			if got := releaseMark(t, c1, rel); !strings.HasPrefix(got, "ristio-mesh-a.test.mesh-") {
				t.Errorf("release %s is marked %q after migration", rel, got)
			}
		}
		if got := pulumitest.Changes(pulumitest.Preview(t, stackA)); len(got) != 0 {
			t.Errorf("preview after migration: %v, want no changes", got)
		}
	})

	specB := meshSpec{meshID: "devmesh", kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 1), chartDirectory: charts, verify: &verify, timeoutSeconds: 60}
	stackB := pulumitest.InlineStack(t, "ristio-mesh-b", meshProgram(specB))
	t.Cleanup(func() { _, _ = stackB.Destroy(ctx) })
	before := snapshotOf(t, c1)

	t.Run("preview of another mesh fails naming the cluster, the object and the mesh", func(t *testing.T) {
		var out bytes.Buffer
		_, err := stackB.Preview(ctx, optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out))
		if err == nil {
			t.Fatalf("preview of stack B succeeded:\n%s", out.String())
		}
		want := "cluster cluster1: Secret istio-system/cacerts belongs to another mesh, " + identityA
		if !strings.Contains(out.String(), want) {
			t.Errorf("preview output does not say %q:\n%s", want, out.String())
		}
		if !strings.Contains(out.String(), "adopt: true") {
			t.Errorf("preview output does not say adopt: true is the way:\n%s", out.String())
		}
	})

	t.Run("up of another mesh is refused and changes nothing", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := stackB.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out)); err == nil {
			t.Fatalf("up of stack B succeeded:\n%s", out.String())
		}
		if !strings.Contains(out.String(), identityA) {
			t.Errorf("up output does not name mesh %s:\n%s", identityA, out.String())
		}
		before.assertUnchangedBut(t, snapshotOf(t, c1), "")
	})

	t.Run("destroy of another mesh deletes none of its objects", func(t *testing.T) {
		if _, err := stackB.Destroy(ctx); err != nil {
			t.Fatalf("destroy of stack B: %v", err)
		}
		before.assertUnchangedBut(t, snapshotOf(t, c1), "")
	})
	t.Logf("TestAnotherMeshIsForeign: %s", time.Since(start).Round(time.Millisecond))
}

// clusterSnapshot is what another mesh must never change in a cluster.
type clusterSnapshot struct {
	cacertsData map[string][]byte
	cacertsUID  string
	cacertsRV   string
	revisions   map[string]int
	secrets     map[string]string // remote secrets: name → resourceVersion
	secretData  map[string]string // remote secrets: name → their kubeconfig (token included)
}

func snapshotOf(t *testing.T, c *localcluster.Cluster) clusterSnapshot {
	t.Helper()
	s := cacerts(t, c)
	snap := clusterSnapshot{cacertsData: s.Data, cacertsUID: string(s.UID), cacertsRV: s.ResourceVersion, revisions: map[string]int{}, secrets: map[string]string{}, secretData: map[string]string{}}
	for _, rel := range identityReleases {
		snap.revisions[rel] = releaseRevision(t, c, rel)
	}
	list, err := c.Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "istio/multiCluster=true"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		snap.secrets[s.Name] = s.ResourceVersion
		for _, v := range s.Data {
			snap.secretData[s.Name] += string(v)
		}
	}
	if len(snap.secrets) == 0 {
		t.Fatalf("%s: no remote secret", c.Name)
	}
	return snap
}

// assertUnchangedBut fails on any change from s to now; a migration may
// only write marks, so there the secrets' versions may move, never their
// data, UID or a release's revision.
func (s clusterSnapshot) assertUnchangedBut(t *testing.T, now clusterSnapshot, migration string) {
	t.Helper()
	for k, v := range s.cacertsData {
		if !bytes.Equal(now.cacertsData[k], v) {
			t.Errorf("cacerts %s changed", k)
		}
	}
	if now.cacertsUID != s.cacertsUID {
		t.Errorf("cacerts was replaced (UID %s → %s)", s.cacertsUID, now.cacertsUID)
	}
	for rel, rev := range s.revisions {
		if now.revisions[rel] != rev {
			t.Errorf("release %s moved from revision %d to %d", rel, rev, now.revisions[rel])
		}
	}
	for name := range s.secrets {
		if _, ok := now.secrets[name]; !ok {
			t.Errorf("remote secret %s is gone", name)
		} else if now.secretData[name] != s.secretData[name] {
			t.Errorf("remote secret %s was rewritten (a new token)", name)
		}
	}
	if migration != "" {
		return
	}
	if now.cacertsRV != s.cacertsRV {
		t.Errorf("cacerts was written (resourceVersion %s → %s)", s.cacertsRV, now.cacertsRV)
	}
	for name, rv := range s.secrets {
		if now.secrets[name] != rv {
			t.Errorf("remote secret %s was written", name)
		}
	}
}

func cacerts(t *testing.T, c *localcluster.Cluster) *corev1.Secret {
	t.Helper()
	s, err := c.Client.CoreV1().Secrets(istioNS).Get(context.Background(), "cacerts", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: cacerts: %v", c.Name, err)
	}
	return s
}

func releaseMark(t *testing.T, c *localcluster.Cluster, release string) string {
	t.Helper()
	list, err := c.Client.CoreV1().Secrets(istioNS).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,status=deployed,name=" + release})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("%s: deployed release %s: %v", c.Name, release, err)
	}
	return list.Items[0].Labels[meshMark]
}

// forgetMarks makes stack A look as it did before ristio marked objects with
// their mesh: meshIdentity leaves its state (export, edit, import), and the
// marks leave cacerts and the Helm releases in every cluster.
func forgetMarks(ctx context.Context, t *testing.T, stack auto.Stack, w *localcluster.World) {
	t.Helper()
	exported, err := stack.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var deployment map[string]any
	if err := json.Unmarshal(exported.Deployment, &deployment); err != nil {
		t.Fatal(err)
	}
	resources, _ := deployment["resources"].([]any)
	forgotten := 0
	for _, r := range resources {
		res, _ := r.(map[string]any)
		for _, key := range []string{"inputs", "outputs"} {
			if m, ok := res[key].(map[string]any); ok {
				if _, ok := m["meshIdentity"]; ok {
					delete(m, "meshIdentity")
					forgotten++
				}
			}
		}
	}
	if forgotten == 0 {
		t.Fatal("no resource in the state holds meshIdentity")
	}
	if exported.Deployment, err = json.Marshal(deployment); err != nil {
		t.Fatal(err)
	}
	if err := stack.Import(ctx, exported); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Clusters {
		s := cacerts(t, c)
		delete(s.Annotations, meshMark)
		if _, err := c.Client.CoreV1().Secrets(istioNS).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		list, err := c.Client.CoreV1().Secrets(istioNS).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			rel := &list.Items[i]
			delete(rel.Labels, meshMark)
			if _, err := c.Client.CoreV1().Secrets(istioNS).Update(ctx, rel, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
