package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// MadeByIstioctl reports whether `istioctl install` wrote an object that no
// Helm release has taken over since.
func MadeByIstioctl(obj metav1.Object) bool {
	_, istioctl := obj.GetLabels()[naming.IstioctlOwnerLabel]
	_, released := obj.GetAnnotations()[naming.HelmReleaseAnnotation]
	return istioctl && !released
}

// DeleteIstioctlLeftovers deletes the objects of the kinds given that match
// selector in ns (cluster-scoped kinds ignore it) and that istioctl made and
// no Helm release took over: what an adopted istioctl install had and the
// charts ristio installs do not render. It returns "Kind name" of each.
func (c *Client) DeleteIstioctlLeftovers(ctx context.Context, ns, selector string, gvks ...schema.GroupVersionKind) ([]string, error) {
	var deleted []string
	for _, gvk := range gvks {
		ri, err := c.resource(ctx, gvk, ns, false)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return deleted, fmt.Errorf("listing %s (%s): %w", gvk.Kind, selector, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			if !MadeByIstioctl(obj) {
				continue
			}
			if err := c.Delete(ctx, gvk, obj.GetNamespace(), obj.GetName()); err != nil {
				return deleted, err
			}
			deleted = append(deleted, gvk.Kind+" "+ref(obj.GetNamespace(), obj.GetName()))
		}
	}
	return deleted, nil
}
