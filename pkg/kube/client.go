// Package kube is ristio's client-go adapter: it applies, reads and deletes
// objects, mints service-account tokens and waits for objects to become
// ready, on one cluster.
//
// Errors name the object (namespace/name) and wrap client-go's error with
// %w; the caller adds the cluster name. They never contain token or key
// material. Waits poll until the context ends and report progress through a
// Progress callback.
package kube

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// FieldManager is the server-side apply field manager of everything ristio applies.
const FieldManager = "ristio"

// Progress receives status lines such as "waiting for deployment
// istio-system/istiod (10s): 0 of 1 updated replicas are available". The
// caller prefixes the cluster name. A nil Progress discards them.
type Progress func(format string, args ...any)

// Client talks to one cluster.
type Client struct {
	config  *rest.Config // nil for clients built from fakes: no port-forward
	kube    kubernetes.Interface
	dynamic dynamic.Interface
	// mapper maps kinds to resources from discovery, cached in memory and
	// fetched on first use.
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// New builds a client for the cluster src selects.
func New(src kubeconfig.Source) (*Client, error) {
	cfg, err := src.RESTConfig()
	if err != nil {
		return nil, err
	}
	return NewForConfig(cfg)
}

// NewForConfig builds a client from a REST config. A config without QPS or
// Burst gets kubeconfig.QPS and kubeconfig.Burst.
func NewForConfig(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	kubeconfig.SetRateLimitDefaults(cfg)
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	kube, err := kubernetes.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", cfg.Host, err)
	}
	c := newClient(kube, dyn)
	c.config = cfg
	return c, nil
}

func newClient(kube kubernetes.Interface, dyn dynamic.Interface) *Client {
	disc := memory.NewMemCacheClientWithContext(kube.Discovery())
	return &Client{
		kube:    kube,
		dynamic: dyn,
		mapper:  restmapper.NewDeferredDiscoveryRESTMapperWithContext(disc),
	}
}

// How long Apply keeps rediscovering a kind the API server does not serve
// yet: a CRD created a moment ago takes a little while to be established.
const (
	newKindGrace    = 15 * time.Second
	newKindInterval = 250 * time.Millisecond
)

// mapping finds the REST mapping of gvk. When discovery does not know the
// kind, the cached discovery is dropped and the lookup retried: once, or for
// up to newKindGrace when waitForNew is set.
func (c *Client) mapping(ctx context.Context, gvk schema.GroupVersionKind, waitForNew bool) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if !meta.IsNoMatchError(err) {
		return m, err
	}
	deadline := time.Now().Add(newKindGrace)
	for {
		c.mapper.ResetWithContext(ctx)
		m, err = c.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
		if !meta.IsNoMatchError(err) || !waitForNew || time.Now().After(deadline) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(newKindInterval):
		}
	}
}

// resource returns the dynamic client of gvk in namespace ns (ignored for
// cluster-scoped kinds).
func (c *Client) resource(ctx context.Context, gvk schema.GroupVersionKind, ns string, waitForNew bool) (dynamic.ResourceInterface, error) {
	m, err := c.mapping(ctx, gvk, waitForNew)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return c.dynamic.Resource(m.Resource), nil
	}
	if ns == "" {
		return nil, fmt.Errorf("%s is namespaced but no namespace was given", gvk.Kind)
	}
	return c.dynamic.Resource(m.Resource).Namespace(ns), nil
}

// ref names an object in errors and progress lines: "ns/name", or "name"
// when cluster-scoped.
func ref(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
