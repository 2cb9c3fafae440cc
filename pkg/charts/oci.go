package charts

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"helm.sh/helm/v3/pkg/registry"

	"github.com/ristio/pulumi-ristio/pkg/ctxbind"
)

// pullOCI pulls <repository>/<name>:<version> from an OCI registry with Helm's
// registry client. Credentials come from Helm's registry config (helm
// registry login) or Docker's. Registries on a loopback address are spoken to
// over plain HTTP, as Docker does; all others over HTTPS. Redirects (to blob
// storage, say) pass the same checkRedirect as an http(s) repository's, and
// an archive over MaxArchiveBytes is refused.
func pullOCI(ctx context.Context, repository, name, version string) ([]byte, error) {
	base := strings.TrimPrefix(normalizeRepository(repository), "oci://")
	ref := base + "/" + name + ":" + version
	opts := []registry.ClientOption{
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptHTTPClient(&http.Client{
			// Helm's registry client knows no context: its requests end with ctx.
			Transport:     ctxbind.Transport(ctx, http.DefaultTransport),
			Timeout:       fetchTimeout(ctx),
			CheckRedirect: checkRedirect,
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
	if len(res.Chart.Data) > MaxArchiveBytes {
		return nil, fmt.Errorf("chart %s-%s: %s in OCI repository %s is over the limit of %s", name, version, "oci://"+ref, repository, formatBytes(MaxArchiveBytes))
	}
	return res.Chart.Data, nil
}

// isLoopback reports whether the repository's host is localhost or a
// loopback IP.
func isLoopback(repository string) bool {
	u, err := url.Parse(repository)
	return err == nil && isLoopbackHost(u.Hostname())
}
