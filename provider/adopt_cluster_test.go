package provider

import (
	"context"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// TestReactivateInjector: istioctl's revision-less injector is deleted (for
// the release to make it anew, on) only when a default tag had switched it
// off; one that still injects is left alone.
func TestReactivateInjector(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a local cluster: run make test")
	}
	w := localcluster.StartT(t, 1)
	c := w.Clusters[0]
	client, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hooks := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	_, err = hooks.Create(ctx, &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: naming.DefaultInjectorWebhook, Labels: map[string]string{naming.IstioctlOwnerLabel: "installed-state"}},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:                    "namespace.sidecar-injector.istio.io",
			ClientConfig:            admissionv1.WebhookClientConfig{URL: ptr.To("https://istiod.example:15017/inject")},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"istio-injection": "enabled"}},
			SideEffects:             ptr.To(admissionv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reactivateInjector(ctx, client); err != nil {
		t.Fatal(err)
	}
	if _, err := hooks.Get(ctx, naming.DefaultInjectorWebhook, metav1.GetOptions{}); err != nil {
		t.Fatalf("an injector that still injects was deleted (%v)", err)
	}
	if _, err := client.DeactivateWebhooks(ctx, naming.DefaultInjectorWebhook); err != nil {
		t.Fatal(err)
	}
	if err := reactivateInjector(ctx, client); err != nil {
		t.Fatal(err)
	}
	if _, err := hooks.Get(ctx, naming.DefaultInjectorWebhook, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the injector a tag switched off is still there (%v)", err)
	}
}
