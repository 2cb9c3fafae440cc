package charts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// Limits on what a chart repository may send, far above what Istio's release
// repository serves. From an http(s) repository a larger body is refused once
// the limit is passed, without reading the rest of it.
const (
	// MaxIndexBytes bounds an http(s) chart repository's index.yaml.
	MaxIndexBytes = 64 << 20
	// MaxArchiveBytes bounds one chart archive: downloaded from an http(s)
	// repository, pulled from an OCI registry (checked once Helm's registry
	// client has pulled it) or read from the cache.
	MaxArchiveBytes = 64 << 20
)

// defaultFetchTimeout bounds one HTTP request when the context has no deadline.
const defaultFetchTimeout = 2 * time.Minute

// maxRedirects is how many redirects one request follows (net/http's default).
const maxRedirects = 10

// repositoryTransport carries requests to http(s) chart repositories: through
// the environment's proxy, and without transparent decompression, so an
// archive served with Content-Encoding: gzip arrives as the .tgz the index's
// digest is of (as Helm's own getter does).
var repositoryTransport http.RoundTripper = newRepositoryTransport()

func newRepositoryTransport() *http.Transport {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		base = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t := base.Clone()
	t.DisableCompression = true
	return t
}

// downloadHTTP fetches the archive of name at version from an http(s) Helm
// repository over transport: index.yaml first (at most MaxIndexBytes), then
// the archive it points at (at most MaxArchiveBytes). Neither the archive's
// URL nor a redirect may leave https for plain http, or go to plain http off
// loopback (see checkHop).
func downloadHTTP(ctx context.Context, transport http.RoundTripper, repository, name, version string) ([]byte, error) {
	base := normalizeRepository(repository)
	baseURL, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s from chart repository %s: %w", name, version, repository, err)
	}
	client := repositoryClient(ctx, transport)
	raw, err := fetch(ctx, client, base+"/index.yaml", MaxIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s: cannot read the index of chart repository %s: %w", name, version, repository, err)
	}
	var idx repo.IndexFile
	if err := yaml.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("chart %s-%s: the index of chart repository %s does not parse: %w", name, version, repository, err)
	}
	entry, err := findVersion(idx, name, version)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s not found in chart repository %s: %w", name, version, repository, err)
	}
	if len(entry.URLs) == 0 {
		return nil, fmt.Errorf("chart %s-%s in chart repository %s: the index lists no URL for it", name, version, repository)
	}
	archiveURL, err := repo.ResolveReferenceURL(base, entry.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s in chart repository %s: %w", name, version, repository, err)
	}
	u, err := url.Parse(archiveURL)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s in chart repository %s: %w", name, version, repository, err)
	}
	if err := checkHop(baseURL, u); err != nil {
		return nil, fmt.Errorf("chart %s-%s in chart repository %s: the index points at %s, refused: %w", name, version, repository, u.Redacted(), err)
	}
	archive, err := fetch(ctx, client, archiveURL, MaxArchiveBytes)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s: cannot download %s from chart repository %s: %w", name, version, u.Redacted(), repository, err)
	}
	if entry.Digest != "" {
		sum := sha256.Sum256(archive)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, entry.Digest) {
			return nil, fmt.Errorf("chart %s-%s from chart repository %s: archive digest %s does not match the index's %s", name, version, repository, got, entry.Digest)
		}
	}
	return archive, nil
}

// repositoryClient returns the client for one download over transport. Its
// redirects pass checkRedirect; when ctx has no deadline, each request ends
// after defaultFetchTimeout.
func repositoryClient(ctx context.Context, transport http.RoundTripper) *http.Client {
	c := &http.Client{Transport: transport, CheckRedirect: checkRedirect}
	if _, ok := ctx.Deadline(); !ok {
		c.Timeout = defaultFetchTimeout
	}
	return c
}

// checkRedirect is a CheckRedirect for clients that fetch charts: it follows
// up to maxRedirects redirects, each of which must pass checkHop from the
// request before it.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	prev := via[len(via)-1].URL
	if err := checkHop(prev, req.URL); err != nil {
		return fmt.Errorf("redirect from %s refused: %w", prev.Redacted(), err)
	}
	return nil
}

// checkHop says why what was asked of from may not be fetched from to: only
// http(s) is spoken, https is never left for plain http, and plain http goes
// to a loopback host only (Source.Validate's rule).
func checkHop(from, to *url.URL) error {
	switch {
	case to.Scheme != "http" && to.Scheme != "https":
		return fmt.Errorf("only http:// and https:// are fetched")
	case from.Scheme == "https" && to.Scheme == "http":
		return fmt.Errorf("it leaves https for plain http")
	case !plainHTTPAllowed(to):
		return fmt.Errorf("plain http:// is accepted only on a loopback host (127.0.0.0/8, ::1, localhost)")
	}
	return nil
}

// fetch GETs href and returns its body. A body over limit bytes is refused:
// on its Content-Length before reading it, or else once limit+1 bytes of it
// have been read.
func fetch(ctx context.Context, client *http.Client, href string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ristio")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", href, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("its Content-Length %d is over the limit of %s", resp.ContentLength, formatBytes(limit))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the body is over the limit of %s", formatBytes(limit))
	}
	return data, nil
}

// formatBytes writes n in MiB when it is a whole number of them.
func formatBytes(n int64) string {
	if n > 0 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// findVersion returns the index entry of name at exactly version.
func findVersion(idx repo.IndexFile, name, version string) (*repo.ChartVersion, error) {
	entries, ok := idx.Entries[name]
	if !ok || len(entries) == 0 {
		return nil, fmt.Errorf("the index has no chart called %s", name)
	}
	var available []*semver.Version
	for _, e := range entries {
		if e == nil || e.Metadata == nil {
			continue
		}
		if sameVersion(e.Version, version) {
			return e, nil
		}
		if v, err := semver.NewVersion(e.Version); err == nil {
			available = append(available, v)
		}
	}
	sort.Sort(sort.Reverse(semver.Collection(available)))
	const show = 10
	list := make([]string, 0, show)
	for i, v := range available {
		if i == show {
			list = append(list, "...")
			break
		}
		list = append(list, v.Original())
	}
	return nil, fmt.Errorf("no version %s (available: %s)", version, strings.Join(list, ", "))
}

// sameVersion compares two versions as semantic versions (so "v1.2.3" is
// "1.2.3"), falling back to plain strings.
func sameVersion(a, b string) bool {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return va.Equal(vb) && va.Metadata() == vb.Metadata()
}

// fetchTimeout is what is left of ctx, or defaultFetchTimeout.
func fetchTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left > 0 {
			return left
		}
		return time.Millisecond
	}
	return defaultFetchTimeout
}
