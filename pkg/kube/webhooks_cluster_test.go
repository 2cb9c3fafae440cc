package kube_test

import (
	"context"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDeactivateWebhooks(t *testing.T) {
	c, client := cluster(t)
	ctx := timeout(t, time.Minute)
	none := admissionv1.SideEffectClassNone
	hook := func(name string) admissionv1.MutatingWebhook {
		return admissionv1.MutatingWebhook{
			Name:                    name,
			ClientConfig:            admissionv1.WebhookClientConfig{URL: ptr.To("https://istiod.example/inject")},
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "istio-injection", Operator: metav1.LabelSelectorOpIn, Values: []string{"enabled"}}}},
		}
	}
	name := "injector-" + namespace(t, c)
	cfg := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: []admissionv1.MutatingWebhook{hook("a.example.io"), hook("b.example.io")}}
	if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
	})

	if off, err := client.WebhooksDeactivated(ctx, name); off || err != nil {
		t.Fatalf("before: deactivated %v, %v", off, err)
	}
	if changed, err := client.DeactivateWebhooks(ctx, name); !changed || err != nil {
		t.Fatalf("DeactivateWebhooks: %v, %v", changed, err)
	}
	if off, err := client.WebhooksDeactivated(ctx, name); !off || err != nil {
		t.Fatalf("after: deactivated %v, %v", off, err)
	}
	live, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range live.Webhooks {
		sel := h.NamespaceSelector
		if len(sel.MatchLabels) != 0 || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Key != "istio.io/deactivated" {
			t.Errorf("webhook %s selector %v", h.Name, sel)
		}
	}
	if changed, err := client.DeactivateWebhooks(ctx, name); changed || err != nil {
		t.Errorf("a second DeactivateWebhooks: %v, %v, want no change", changed, err)
	}
	if changed, err := client.DeactivateWebhooks(ctx, "absent-"+name); changed || err != nil {
		t.Errorf("DeactivateWebhooks of an absent configuration: %v, %v", changed, err)
	}
}

func TestDeploymentNames(t *testing.T) {
	c, client := cluster(t)
	ns := namespace(t, c)
	createDeployment(t, c, ns, "istiod")
	createDeployment(t, c, ns, "other")
	names, err := client.DeploymentNames(timeout(t, time.Minute), ns, "app=istiod")
	if err != nil || len(names) != 1 || names[0] != "istiod" {
		t.Errorf("DeploymentNames: %v, %v", names, err)
	}
}
