package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestSampleNamespaceKeepsUserObjects: a ConfigMap and a claim a user put in
// the sample namespace, labelled as Helm's (a Helm app of theirs), keep the
// namespace when installHelloWorld goes off; once they are gone, destroy
// leaves nothing.
func TestSampleNamespaceKeepsUserObjects(t *testing.T) {
	t.Parallel()
	w := world(t, 1)
	c := w.Clusters[0]
	spec := meshSpec{kubeconfig: w.Kubeconfig, clusters: clustersOf(w, 1), chartDirectory: testcharts.Directory(t), helloWorld: true}
	stack := pulumitest.InlineStack(t, "ristio-sample-ns", meshProgram(spec))
	ctx := context.Background()
	t.Cleanup(func() { _, _ = stack.Destroy(ctx) })
	pulumitest.Up(t, stack)

	helm := map[string]string{"app.kubernetes.io/managed-by": "Helm"}
	release := map[string]string{"meta.helm.sh/release-name": "user-app", "meta.helm.sh/release-namespace": "sample"}
	if _, err := c.Client.CoreV1().ConfigMaps("sample").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "user-app", Labels: helm, Annotations: release},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims("sample").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "user-data", Labels: helm, Annotations: release},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	spec.helloWorld = false
	setProgram(t, &stack, spec)
	var out strings.Builder
	if _, err := stack.Up(ctx, optup.ProgressStreams(&out)); err != nil {
		t.Fatalf("up without the sample: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "keeping namespace sample: it still holds ConfigMap user-app") {
		t.Errorf("up does not say why it keeps sample:\n%s", out.String())
	}
	ns, err := c.Client.CoreV1().Namespaces().Get(ctx, "sample", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("namespace sample was deleted with the user's objects in it (%v)", err)
	}
	if _, err := c.Client.CoreV1().ConfigMaps("sample").Get(ctx, "user-app", metav1.GetOptions{}); err != nil {
		t.Errorf("the user's ConfigMap: %v", err)
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims("sample").Get(ctx, "user-data", metav1.GetOptions{}); err != nil {
		t.Errorf("the user's claim: %v", err)
	}
	for _, name := range []string{"helloworld-v1", "curl"} {
		if _, err := c.Client.AppsV1().Deployments("sample").Get(ctx, name, metav1.GetOptions{}); err == nil {
			t.Errorf("the sample's %s is still there", name)
		}
	}

	// The user moves their app away; the namespace ristio made then goes with destroy.
	if err := c.Client.CoreV1().ConfigMaps("sample").Delete(ctx, "user-app", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().PersistentVolumeClaims("sample").Delete(ctx, "user-data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().Namespaces().Delete(ctx, "sample", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	meshassert.NothingLeft(t, c)
}
