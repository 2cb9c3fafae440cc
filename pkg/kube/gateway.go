package kube

import (
	"context"
	"fmt"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

// WaitForGatewayAddress waits until the Gateway API Gateway ns/name is
// Programmed with an address in its status, and returns the first one.
func (c *Client) WaitForGatewayAddress(ctx context.Context, ns, name string, progress Progress) (string, error) {
	gvk := gatewayapi.GatewayGVR.GroupVersion().WithKind("Gateway")
	var addr string
	err := poll(ctx, "address of Gateway "+ref(ns, name), progress, func(ctx context.Context) (bool, string, error) {
		gw, err := c.Get(ctx, gvk, ns, name)
		if err != nil {
			return false, "", err
		}
		if gw == nil {
			return false, "absent", nil
		}
		s := gatewayapi.ReadGatewayStatus(gw)
		if s.Programmed && len(s.Addresses) > 0 {
			addr = s.Addresses[0]
			return true, "", nil
		}
		state := s.String()
		if s.Message != "" {
			state += fmt.Sprintf(": %s", s.Message)
		}
		return false, state, nil
	})
	return addr, err
}
