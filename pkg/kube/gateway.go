package kube

import (
	"context"
	"fmt"
	"slices"

	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
)

// WaitForGatewayAddress waits until the Gateway API Gateway ns/name is
// Programmed with the address of its own Service (istiod gives it the
// Gateway's name) in its status, and returns it. istiod reading peers may
// first write the address of a peer's Service of the same name: that one
// is not the gateway's.
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
		if s.Programmed && own != "" && slices.Contains(s.Addresses, own) {
			addr = own
			return true, "", nil
		}
		state := s.String() + fmt.Sprintf(", its Service's address %q", own)
		if s.Message != "" {
			state += fmt.Sprintf(": %s", s.Message)
		}
		return false, state, nil
	})
	return addr, err
}
