package provider

import (
	"context"
	"fmt"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	secretGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	gatewayGVK   = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}

	mutatingWebhookGVK = schema.GroupVersionKind{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingWebhookConfiguration"}
	serviceGVK         = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	deploymentGVK      = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	serviceAccountGVK  = schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
	roleGVK            = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}
	roleBindingGVK     = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}
	pdbGVK             = schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}
)

// deleteNamespaceIfOurs deletes ns when ristio created it (it carries the
// managed-by label; state cannot tell, since a replacement finds the
// namespace already there) and nothing else lives in it: inUse names what
// ristio itself still keeps there, or returns "".
func deleteNamespaceIfOurs(ctx context.Context, client namespaceClient, cluster, ns string, inUse func() (string, error)) error {
	obj, err := client.Get(ctx, namespaceGVK, "", ns)
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	if obj == nil || !managedByRistio(obj.GetLabels()) {
		return nil
	}
	what, err := inUse()
	if err != nil {
		return err
	}
	if what == "" {
		foreign, err := client.ForeignObjects(ctx, ns)
		if err != nil {
			return err
		}
		what = strings.Join(foreign, ", ")
	}
	if what != "" {
		p.GetLogger(ctx).Infof("cluster %s: keeping namespace %s: it still holds %s", cluster, ns, what)
		return nil
	}
	return client.DeleteNamespace(ctx, ns, progress(ctx, cluster))
}

// istioNamespaceUse names what ristio still keeps in istio-system: Helm
// releases or ristio secrets.
func istioNamespaceUse(ctx context.Context, client secretClient) func() (string, error) {
	return func() (string, error) {
		for _, selector := range []string{"owner=helm", naming.ManagedByLabel + "=" + naming.ManagedByValue} {
			names, err := client.SecretNames(ctx, naming.IstioNamespace, selector)
			if err != nil {
				return "", err
			}
			if len(names) > 0 {
				return "secret " + names[0], nil
			}
		}
		return "", nil
	}
}
