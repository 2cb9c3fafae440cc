package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countPage is how many objects one List call asks for while counting.
const countPage = 500

// CountObjects counts the objects of kind gvk in every namespace; 0 when the
// cluster does not serve the kind. Deleting a CRD deletes all of them, so a
// CRD ristio installed is deleted only while this is 0.
func (c *Client) CountObjects(ctx context.Context, gvk schema.GroupVersionKind) (int, error) {
	m, err := c.mapping(ctx, gvk, false)
	if meta.IsNoMatchError(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", gvk.Kind, err)
	}
	n, cont := 0, ""
	for {
		list, err := c.dynamic.Resource(m.Resource).List(ctx, metav1.ListOptions{Limit: countPage, Continue: cont})
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", gvk.Kind, err)
		}
		n += len(list.Items)
		if cont = list.GetContinue(); cont == "" {
			return n, nil
		}
	}
}
