package provider_test

import (
	"context"
	"testing"
	"time"

	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
)

// TestHelloWorldLifecycle deploys Istio's verification sample through the
// provider, waits for it with the kubelet emulator, repairs a Deployment
// deleted by hand and removes the sample with its namespace.
func TestHelloWorldLifecycle(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	ctx := context.Background()
	s := lifecycleServer(t, &clock{now: time.Now()})
	r := newResource(s, "HelloWorld", "helloworld")
	var inputs property.Map

	step(t, "check accepts version v1 and defaults the namespace to sample", func(t *testing.T) {
		inputs = r.check(t, map[string]property.Value{
			"cluster":        fileConn(w, c.Name),
			"sampleVersion":  str("v1"),
			"timeoutSeconds": property.New(lifecycleTimeout),
		})
		if got := inputs.Get("namespace"); !got.IsString() || got.AsString() != "sample" {
			t.Errorf("namespace = %v, want the default sample", got)
		}
	})

	step(t, "a preview touches nothing in the cluster", func(t *testing.T) {
		before := snapshots(t, w)
		r.preview(t, inputs)
		wantUntouched(t, w, before)
	})

	step(t, "create deploys helloworld and curl in an injected namespace and waits for them", func(t *testing.T) {
		r.create(t, inputs)
		ns := getNamespace(t, c, "sample")
		if ns == nil {
			t.Fatalf("namespace sample was not created")
		}
		if ns.Labels["istio-injection"] != "enabled" || ns.Labels["app.kubernetes.io/managed-by"] != "ristio" {
			t.Errorf("namespace sample labels = %v, want istio-injection=enabled and managed-by ristio", ns.Labels)
		}
		svc, err := c.Client.CoreV1().Services("sample").Get(ctx, "helloworld", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("service helloworld: %v", err)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 5000 {
			t.Errorf("service helloworld ports = %+v, want 5000", svc.Spec.Ports)
		}
		if _, err := c.Client.CoreV1().Services("sample").Get(ctx, "curl", metav1.GetOptions{}); err != nil {
			t.Errorf("service curl: %v", err)
		}
		for _, name := range []string{"helloworld-v1", "curl"} {
			d, err := c.Client.AppsV1().Deployments("sample").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Errorf("deployment %s: %v", name, err)
				continue
			}
			if d.Status.AvailableReplicas < 1 {
				t.Errorf("create returned before deployment %s was available: %+v", name, d.Status)
			}
		}
		if !r.bool("present") {
			t.Errorf("present = false after create, want true")
		}
	})

	step(t, "a fresh sample reads back present and has no diff", func(t *testing.T) {
		r.read(t)
		if !r.bool("present") {
			t.Errorf("present = false right after create")
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a Deployment deleted by hand reads back as not present", func(t *testing.T) {
		if err := c.Client.AppsV1().Deployments("sample").Delete(ctx, "helloworld-v1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		if r.bool("present") {
			t.Errorf("present = true after helloworld-v1 was deleted")
		}
	})

	step(t, "a missing Deployment diffs as an update, not a replacement", func(t *testing.T) {
		wantUpdate(t, r.diff(t, inputs), "present")
	})

	step(t, "the update deploys it again", func(t *testing.T) {
		r.update(t, inputs)
		d, err := c.Client.AppsV1().Deployments("sample").Get(ctx, "helloworld-v1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment helloworld-v1 after the repair: %v", err)
		}
		if d.Status.AvailableReplicas < 1 {
			t.Errorf("update returned before helloworld-v1 was available")
		}
		if !r.bool("present") {
			t.Errorf("present = false after the repair, want true")
		}
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "another version is a replacement", func(t *testing.T) {
		wantReplace(t, r.diff(t, inputs.Set("sampleVersion", str("v2"))))
	})

	step(t, "another namespace is a replacement", func(t *testing.T) {
		wantReplace(t, r.diff(t, inputs.Set("namespace", str("sample2"))))
	})

	step(t, "another cluster name is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, inputs.Set("cluster", withName(inputs.Get("cluster"), "cluster9"))), "cluster")
	})

	step(t, "delete removes the sample and its namespace", func(t *testing.T) {
		r.delete(t)
		for _, name := range []string{"helloworld-v1", "curl"} {
			if _, err := c.Client.AppsV1().Deployments("sample").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("deployment %s after delete: %v, want NotFound", name, err)
			}
		}
		if ns := getNamespace(t, c, "sample"); ns != nil {
			t.Errorf("namespace sample survived delete (phase %s)", ns.Status.Phase)
		}
	})

	step(t, "delete keeps a namespace that existed before", func(t *testing.T) {
		wantSampleKeepsNamespace(t, c, s, w)
	})

	step(t, "a version change replaces the sample and the old one's delete spares the new one", func(t *testing.T) {
		// The engine replaces create-before-delete: the replacement has the
		// same URN, so Create gets the same name, and the old state is
		// deleted afterwards.
		old := newResource(s, "HelloWorld", "helloworld-replaced")
		v1 := old.check(t, map[string]property.Value{
			"cluster":        fileConn(w, c.Name),
			"sampleVersion":  str("v1"),
			"timeoutSeconds": property.New(lifecycleTimeout),
		})
		old.create(t, v1)
		v2 := v1.Set("sampleVersion", str("v2"))
		wantReplace(t, old.diff(t, v2))
		replacement := newResource(s, "HelloWorld", "helloworld-replaced")
		replacement.create(t, v2)
		old.delete(t)

		var lost []string
		if ns := getNamespace(t, c, "sample"); ns == nil || ns.DeletionTimestamp != nil {
			lost = append(lost, "namespace sample")
		}
		for _, name := range []string{"helloworld-v2", "curl"} {
			if _, err := c.Client.AppsV1().Deployments("sample").Get(ctx, name, metav1.GetOptions{}); err != nil {
				lost = append(lost, "deployment "+name)
			}
		}
		for _, name := range []string{"helloworld", "curl"} {
			if _, err := c.Client.CoreV1().Services("sample").Get(ctx, name, metav1.GetOptions{}); err != nil {
				lost = append(lost, "service "+name)
			}
		}
		if _, err := c.Client.AppsV1().Deployments("sample").Get(ctx, "helloworld-v1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("deployment helloworld-v1 after the old sample's delete: %v, want NotFound", err)
		}
		replacement.delete(t)
		if len(lost) > 0 {
			t.Errorf("deleting the replaced v1 sample removed the v2 replacement's %v", lost)
		}
	})
}

// wantSampleKeepsNamespace deploys the sample into a namespace made by hand
// and checks delete removes the sample but not the namespace.
func wantSampleKeepsNamespace(t *testing.T, c *localcluster.Cluster, s integration.Server, w *localcluster.World) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-sample"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := newResource(s, "HelloWorld", "helloworld-existing-namespace")
	in := r.check(t, map[string]property.Value{
		"cluster":        fileConn(w, c.Name),
		"sampleVersion":  str("v2"),
		"namespace":      str("team-sample"),
		"timeoutSeconds": property.New(lifecycleTimeout),
	})
	r.create(t, in)
	if _, err := c.Client.AppsV1().Deployments("team-sample").Get(ctx, "helloworld-v2", metav1.GetOptions{}); err != nil {
		t.Errorf("deployment helloworld-v2: %v", err)
	}
	r.delete(t)
	ns := getNamespace(t, c, "team-sample")
	if ns == nil || ns.DeletionTimestamp != nil {
		t.Fatalf("delete removed namespace team-sample, which it did not create")
	}
	if _, err := c.Client.AppsV1().Deployments("team-sample").Get(ctx, "helloworld-v2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployment helloworld-v2 after delete: %v, want NotFound", err)
	}
}
