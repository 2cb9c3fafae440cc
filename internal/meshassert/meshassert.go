// Package meshassert holds test assertions about what ristio leaves in a
// cluster, shared by the end-to-end and example tests. Test-only.
package meshassert

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// namespaceGone bounds the wait for the namespace controller to finish
// deleting a namespace destroy removed: one still Terminating after it is
// stuck, and a failure.
const namespaceGone = 90 * time.Second

// NothingLeft checks that a destroy removed ristio's namespaces (gone, not
// left Terminating), every object labelled as ristio's, and what istiod's
// charts make cluster-wide: webhook configurations, cluster roles and their
// bindings.
func NothingLeft(t testing.TB, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range []string{naming.IstioNamespace, naming.SampleNamespace} {
		deadline := time.Now().Add(namespaceGone)
		for {
			n, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if err != nil {
				t.Errorf("%s: namespace %s: %v", c.Name, ns, err)
				break
			}
			if n.DeletionTimestamp == nil {
				t.Errorf("%s: namespace %s survived destroy", c.Name, ns)
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: namespace %s still %s %s after destroy: %v", c.Name, ns, n.Status.Phase, namespaceGone, n.Status.Conditions)
				break
			}
			time.Sleep(500 * time.Millisecond)
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
	mutating, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: listing mutating webhooks: %v", c.Name, err)
	}
	for _, h := range mutating.Items {
		t.Errorf("%s: mutating webhook %s survived destroy", c.Name, h.Name)
	}
	validating, err := c.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: listing validating webhooks: %v", c.Name, err)
	}
	for _, h := range validating.Items {
		t.Errorf("%s: validating webhook %s survived destroy", c.Name, h.Name)
	}
	roles, err := c.Client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: listing cluster roles: %v", c.Name, err)
	}
	for _, r := range roles.Items {
		if strings.HasPrefix(r.Name, "istio") {
			t.Errorf("%s: cluster role %s survived destroy", c.Name, r.Name)
		}
	}
	bindings, err := c.Client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: listing cluster role bindings: %v", c.Name, err)
	}
	for _, b := range bindings.Items {
		if strings.HasPrefix(b.Name, "istio") {
			t.Errorf("%s: cluster role binding %s survived destroy", c.Name, b.Name)
		}
	}
}

// NoGatewayAPICRDs checks that a destroy left no Gateway API CRD in c, for
// clusters that had none before ristio installed them.
func NoGatewayAPICRDs(t testing.TB, c *localcluster.Cluster) {
	t.Helper()
	d, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	list, err := d.Resource(crds).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("%s: listing CRDs: %v", c.Name, err)
	}
	for _, crd := range list.Items {
		if strings.HasSuffix(crd.GetName(), "."+gatewayapi.Group) {
			t.Errorf("%s: CRD %s survived destroy (labels %v)", c.Name, crd.GetName(), crd.GetLabels())
		}
	}
}

// OwnedByEastWestGateway says whether refs name the east-west Gateway: what
// istiod deploys for it is owned by it, and goes when it goes.
func OwnedByEastWestGateway(refs []metav1.OwnerReference) bool {
	for _, r := range refs {
		if r.Kind == gatewayapi.GatewayGVK.Kind && r.Name == gatewayapi.EastWestGatewayName && strings.HasPrefix(r.APIVersion, gatewayapi.Group+"/") {
			return true
		}
	}
	return false
}

// TokenRevoked waits until token no longer authenticates to c, as a
// TokenReview says; the API server caches a token's verdict for 10 s, so it
// waits up to 30 s.
func TokenRevoked(t testing.TB, c *localcluster.Cluster, token string) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(500 * time.Millisecond) {
		r, err := c.Client.AuthenticationV1().TokenReviews().Create(context.Background(), &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Status.Authenticated {
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%s: a revoked token still authenticates after 30 s", c.Name)
		}
	}
}
