package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// LBMode says which kind of address the load-balancer emulator hands out.
type LBMode int

const (
	// LBIP gives each Service its own IP from 127.0.1.0/24.
	LBIP LBMode = iota
	// LBHostname gives <svc>.<ns>.<cluster>.lb.example, as AWS-style load
	// balancers do.
	LBHostname
)

// RunLoadBalancer runs the load-balancer emulator on every cluster; see
// Cluster.RunLoadBalancer.
func (w *World) RunLoadBalancer(ctx context.Context, mode LBMode) {
	for _, c := range w.Clusters {
		c.RunLoadBalancer(ctx, mode)
	}
}

// RunLoadBalancer gives every Service of type LoadBalancer without an address
// one, in the background until ctx ends or the world stops. An address that
// is already set, for example by SetServiceAddress, is left alone.
func (c *Cluster) RunLoadBalancer(ctx context.Context, mode LBMode) {
	c.every(ctx, "load-balancer", emulatorInterval, func(ctx context.Context) error {
		// Served from the watch cache: a stale entry costs only a fresh Get below.
		services, err := c.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return err
		}
		var errs []error
		for _, svc := range services.Items {
			if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) > 0 {
				continue
			}
			addr, err := c.lbAddress(mode, svc.Namespace, svc.Name)
			if err == nil {
				err = c.updateServiceStatus(ctx, svc.Namespace, svc.Name, func(svc *corev1.Service) bool {
					if len(svc.Status.LoadBalancer.Ingress) > 0 {
						return false // set meanwhile, perhaps by SetServiceAddress
					}
					svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{ingressFor(addr)}
					return true
				})
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

func (c *Cluster) lbAddress(mode LBMode, ns, name string) (string, error) {
	if mode == LBHostname {
		return fmt.Sprintf("%s.%s.%s.lb.example", name, ns, c.Name), nil
	}
	ip, err := c.lbPool.get(c.Name + "/" + ns + "/" + name)
	return ip.String(), err
}

// SetServiceAddress sets the load-balancer address of a Service, as a cloud
// would: an IP when addr parses as one, a hostname otherwise. Tests use it to
// make an address drift.
func (c *Cluster) SetServiceAddress(ctx context.Context, ns, name, addr string) error {
	return c.updateServiceStatus(ctx, ns, name, func(svc *corev1.Service) bool {
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{ingressFor(addr)}
		return true
	})
}

func ingressFor(addr string) corev1.LoadBalancerIngress {
	if _, err := netip.ParseAddr(addr); err != nil {
		return corev1.LoadBalancerIngress{Hostname: addr}
	}
	vip := corev1.LoadBalancerIPModeVIP // required by validation when ip is set
	return corev1.LoadBalancerIngress{IP: addr, IPMode: &vip}
}

// updateServiceStatus applies change to a fresh copy of the Service and
// writes its status when change returns true, retrying on conflicts.
func (c *Cluster) updateServiceStatus(ctx context.Context, ns, name string, change func(*corev1.Service) bool) error {
	services := c.Client.CoreV1().Services(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc, err := services.Get(ctx, name, metav1.GetOptions{})
		if err != nil || !change(svc) {
			return err
		}
		_, err = services.UpdateStatus(ctx, svc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: set address of service %s/%s: %w", c.Name, ns, name, err)
	}
	return nil
}

// addressPool hands out 127.0.1.1–127.0.1.254, one per service across the
// world, and the same one again for a service that asks twice.
type addressPool struct {
	mu    sync.Mutex
	byKey map[string]netip.Addr
}

func (p *addressPool) get(key string) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if addr, ok := p.byKey[key]; ok {
		return addr, nil
	}
	if p.byKey == nil {
		p.byKey = map[string]netip.Addr{}
	}
	if len(p.byKey) >= 254 {
		return netip.Addr{}, errors.New("load-balancer addresses 127.0.1.0/24 exhausted")
	}
	addr := netip.AddrFrom4([4]byte{127, 0, 1, byte(len(p.byKey) + 1)})
	p.byKey[key] = addr
	return addr, nil
}
