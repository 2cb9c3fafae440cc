package kube

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// WaitForGatewayAddress waits until the Gateway API Gateway ns/name is
// Programmed with the address of its own Service (istiod gives it the
// Gateway's name) in its status, and its Deployment was rendered by the
// istiod of the revision the Gateway names, and returns the address.
// istiod reading peers may first write the address of a peer's Service of
// the same name: that one is not the gateway's. A Gateway moved to another
// revision stays Programmed while the old istiod's Deployment runs: only
// the Deployment's pod template says the new one took over.
func (c *Client) WaitForGatewayAddress(ctx context.Context, ns, name string, progress Progress) (string, error) {
	var addr string
	err := poll(ctx, "address of Gateway "+ref(ns, name), progress, func(ctx context.Context) (bool, string, error) {
		gw, err := c.Get(ctx, gatewayapi.GatewayGVK, ns, name)
		if err != nil {
			return false, "", err
		}
		if gw == nil {
			return false, "absent", nil
		}
		s := gatewayapi.ReadGatewayStatus(gw)
		own, err := c.ServiceAddress(ctx, ns, name)
		if err != nil {
			return false, "", err
		}
		if !s.Programmed || own == "" || !slices.Contains(s.Addresses, own) {
			state := s.String() + fmt.Sprintf(", its Service's address %q", own)
			if s.Message != "" {
				state += fmt.Sprintf(": %s", s.Message)
			}
			return false, state, nil
		}
		want := naming.RevisionLabelValue(gw.GetLabels()[naming.RevisionLabel])
		d, err := c.kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "Programmed, but istiod has made no Deployment " + ref(ns, name), nil
		}
		if err != nil {
			return false, "", err
		}
		// The revision-less istiod leaves the label out.
		if got := naming.RevisionLabelValue(d.Spec.Template.Labels[naming.RevisionLabel]); got != want {
			return false, fmt.Sprintf("Programmed, its Deployment rendered by revision %q, waiting for revision %q to take it over", got, want), nil
		}
		addr = own
		return true, "", nil
	})
	return addr, err
}
