package helm

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ristio/pulumi-ristio/pkg/ctxbind"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// restTimeout bounds one request: Helm's (a CRD of a hundred kilobytes, a
// server-side dry run) may take longer than kubeconfig.Timeout. The rate
// limits are kubeconfig's: client-go's defaults (5 QPS) would make an install
// of Istio's base chart crawl.
const restTimeout = 2 * time.Minute

var _ genericclioptions.RESTClientGetter = (*restClientGetter)(nil)

// restClientGetter is a genericclioptions.RESTClientGetter over a
// clientcmd.ClientConfig, with the namespace fixed to the release namespace.
// Discovery is cached in memory and the REST mapper is a deferred discovery
// mapper; invalidate drops both so that CRDs created since are seen.
type restClientGetter struct {
	cc        clientcmd.ClientConfig
	namespace string
	warn      func(format string, args ...any)

	// opCtx is the context of the workflow running now. Every request
	// ends with it, so a workflow whose context ends stops talking to the
	// cluster, although Helm's own goroutines outlive RunWithContext.
	opCtx atomic.Pointer[context.Context]

	mu       sync.Mutex
	config   *rest.Config
	dc       discovery.CachedDiscoveryInterface
	deferred *restmapper.DeferredDiscoveryRESTMapper
	mapper   meta.RESTMapper
}

func newRESTClientGetter(cc clientcmd.ClientConfig, namespace string, warn func(string, ...any)) *restClientGetter {
	return &restClientGetter{cc: cc, namespace: namespace, warn: warn}
}

func (g *restClientGetter) ToRESTConfig() (*rest.Config, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.restConfig()
}

func (g *restClientGetter) restConfig() (*rest.Config, error) {
	if g.config == nil {
		cfg, err := g.cc.ClientConfig()
		if err != nil {
			return nil, err
		}
		cfg = rest.CopyConfig(cfg)
		kubeconfig.SetRateLimitDefaults(cfg)
		if cfg.Timeout == 0 {
			cfg.Timeout = restTimeout
		}
		// API warnings (deprecations, duplicate fields) belong in the debug log,
		// not on the provider's stderr.
		cfg.WarningHandler = warningLogger(g.warn)
		cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
			return ctxbind.RoundTripper{Next: next, Context: g.context}
		})
		g.config = cfg
	}
	return rest.CopyConfig(g.config), nil
}

func (g *restClientGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.discovery()
}

func (g *restClientGetter) discovery() (discovery.CachedDiscoveryInterface, error) {
	if g.dc == nil {
		cfg, err := g.restConfig()
		if err != nil {
			return nil, err
		}
		// Discovery fans out to every group version at once.
		cfg.Burst = max(cfg.Burst, 300)
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return nil, err
		}
		g.dc = memory.NewMemCacheClient(dc)
	}
	return g.dc, nil
}

func (g *restClientGetter) ToRESTMapper() (meta.RESTMapper, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mapper == nil {
		dc, err := g.discovery()
		if err != nil {
			return nil, err
		}
		g.deferred = restmapper.NewDeferredDiscoveryRESTMapper(dc)
		g.mapper = restmapper.NewShortcutExpander(g.deferred, dc, func(s string) { g.warn("%s", s) })
	}
	return g.mapper, nil
}

func (g *restClientGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespacedClientConfig{inner: g.cc, namespace: g.namespace}
}

// invalidate forgets discovery, so that resources added since (the CRDs of
// Istio's base chart) are mapped.
func (g *restClientGetter) invalidate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dc != nil {
		g.dc.Invalidate()
	}
	if g.deferred != nil {
		g.deferred.Reset()
	}
}

// setContext makes ctx the context of every request from now on.
func (g *restClientGetter) setContext(ctx context.Context) { g.opCtx.Store(&ctx) }

func (g *restClientGetter) context() context.Context {
	if p := g.opCtx.Load(); p != nil {
		return *p
	}
	return context.Background()
}

// namespacedClientConfig overrides the kubeconfig's namespace with the
// release namespace: Helm's kube client puts namespaced objects without a
// namespace there.
type namespacedClientConfig struct {
	inner     clientcmd.ClientConfig
	namespace string
}

var _ clientcmd.ClientConfig = namespacedClientConfig{}

func (c namespacedClientConfig) RawConfig() (clientcmdapi.Config, error) { return c.inner.RawConfig() }
func (c namespacedClientConfig) ClientConfig() (*rest.Config, error)     { return c.inner.ClientConfig() }
func (c namespacedClientConfig) ConfigAccess() clientcmd.ConfigAccess    { return c.inner.ConfigAccess() }
func (c namespacedClientConfig) Namespace() (string, bool, error)        { return c.namespace, true, nil }

// warningLogger sends API server warnings to a log function.
type warningLogger func(format string, args ...any)

func (w warningLogger) HandleWarningHeader(code int, agent string, text string) {
	if code != 299 || text == "" {
		return
	}
	w("warning from the API server: %s", text)
}
