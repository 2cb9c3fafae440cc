// Package meshassert holds test assertions about what ristio leaves in a
// cluster, shared by the end-to-end and example tests. Test-only.
package meshassert

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// NothingLeft checks that a destroy removed ristio's namespaces, every
// object labelled as ristio's, and istiod's webhooks.
func NothingLeft(t testing.TB, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range []string{naming.IstioNamespace, naming.SampleNamespace} {
		n, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			t.Errorf("%s: namespace %s: %v", c.Name, ns, err)
		case n.DeletionTimestamp == nil:
			t.Errorf("%s: namespace %s survived destroy", c.Name, ns)
		}
	}
	managed := metav1.ListOptions{LabelSelector: naming.ManagedByLabel + "=" + naming.ManagedByValue}
	secrets, err := c.Client.CoreV1().Secrets("").List(ctx, managed)
	if err != nil {
		t.Fatalf("%s: listing secrets: %v", c.Name, err)
	}
	for _, s := range secrets.Items {
		t.Errorf("%s: secret %s/%s survived destroy", c.Name, s.Namespace, s.Name)
	}
	hooks, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: listing webhooks: %v", c.Name, err)
	}
	for _, h := range hooks.Items {
		t.Errorf("%s: webhook %s survived destroy", c.Name, h.Name)
	}
}
