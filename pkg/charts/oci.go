package charts

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"helm.sh/helm/v3/pkg/registry"
)

// pullOCI pulls <repository>/<name>:<version> from an OCI registry with Helm's
// registry client. Credentials come from Helm's registry config (helm
// registry login) or Docker's. Registries on a loopback address are spoken to
// over plain HTTP, as Docker does; all others over HTTPS.
func pullOCI(ctx context.Context, repository, name, version string) ([]byte, error) {
	base := strings.TrimPrefix(normalizeRepository(repository), "oci://")
	ref := base + "/" + name + ":" + version
	opts := []registry.ClientOption{
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptHTTPClient(&http.Client{
			Transport: contextTransport{ctx: ctx, next: http.DefaultTransport},
			Timeout:   fetchTimeout(ctx),
		}),
	}
	if isLoopback(repository) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s from OCI repository %s: %w", name, version, repository, err)
	}
	res, err := client.Pull(ref)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("chart %s-%s: cannot pull %s from OCI repository %s: %w", name, version, "oci://"+ref, repository, err)
	}
	if res.Chart == nil || len(res.Chart.Data) == 0 {
		return nil, fmt.Errorf("chart %s-%s: %s in OCI repository %s holds no chart", name, version, "oci://"+ref, repository)
	}
	return res.Chart.Data, nil
}

// contextTransport makes every request of Helm's registry client, which knows
// no context, end with ctx.
type contextTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t contextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := mergeContexts(req.Context(), t.ctx)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// mergeContexts returns a context that ends when either a or b ends.
func mergeContexts(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(a)
	stop := context.AfterFunc(b, func() { cancel(context.Cause(b)) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// isLoopback reports whether the repository's host is localhost or a
// loopback IP.
func isLoopback(repository string) bool {
	u, err := url.Parse(repository)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
