// Package charts loads Istio's Helm charts from a local directory, an HTTP(S)
// Helm repository or an OCI registry. Charts fetched over the network are
// cached on disk, one file per source, chart and version, so each is fetched
// once; a cached archive is used only while it still has the SHA-256 it was
// downloaded with.
package charts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
)

// The chart names Istio publishes, as Load takes them.
const (
	Base    = "base"
	Istiod  = "istiod"
	Gateway = "gateway"
	// CNI and Ztunnel are the node agents of an ambient mesh.
	CNI     = "cni"
	Ztunnel = "ztunnel"
)

// CacheEnv names the environment variable that overrides the default cache
// folder.
const CacheEnv = "RISTIO_CHART_CACHE"

// Source says where charts come from. Directory, when set, wins over
// Repository.
type Source struct {
	// Directory is a local folder; see Load for what it may hold.
	Directory string
	// Repository is an https:// Helm repository (with an index.yaml), an
	// http:// one on a loopback host, or an oci:// registry path under which
	// <name>:<version> live.
	Repository string
	// CacheDir holds downloaded charts. Empty means $RISTIO_CHART_CACHE, or
	// else <user cache dir>/ristio/charts.
	CacheDir string

	// transport, when set, carries the requests to an http(s) Repository in
	// place of repositoryTransport (tests use it to trust a test server).
	transport http.RoundTripper
}

// Validate checks the source without touching the network or the disk. It is
// where the rule on plain HTTP lives: an http:// Repository must be on a
// loopback host (127.0.0.0/8, ::1 or localhost), as nothing protects what
// comes over it from anyone on the way.
func (s Source) Validate() error {
	if s.Repository == "" {
		if s.Directory == "" {
			return fmt.Errorf("neither a chart directory nor a chart repository is set")
		}
		return nil
	}
	// A malformed repository is an error even where a directory wins over it.
	u, err := url.Parse(s.Repository)
	if err != nil {
		return fmt.Errorf("chart repository %q: %w", s.Repository, err)
	}
	switch u.Scheme {
	case "http", "https", "oci":
	default:
		return fmt.Errorf("chart repository %q: must be an http://, https:// or oci:// URL", s.Repository)
	}
	if u.Host == "" {
		return fmt.Errorf("chart repository %q: has no host", s.Repository)
	}
	if !plainHTTPAllowed(u) {
		return fmt.Errorf("chart repository %q: plain http:// is accepted only on a loopback host (127.0.0.0/8, ::1, localhost); use https://", s.Repository)
	}
	return nil
}

// plainHTTPAllowed reports whether u may be fetched: anything but http://,
// and http:// only on a loopback host.
func plainHTTPAllowed(u *url.URL) bool {
	return u.Scheme != "http" || isLoopbackHost(u.Hostname())
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Load returns chart name at version.
//
// From Directory it tries, in this order, and takes the first that exists:
//
//  1. <dir>/<name>, a chart folder (for istiod also <dir>/istio-control/istio-discovery,
//     the layout of Istio's manifests/charts);
//  2. <dir>/<name>-<version>.tgz;
//  3. <dir>/<name>.tgz;
//  4. the only <dir>/<name>-*.tgz (several are an error).
//
// A chart from a directory is used whatever version its Chart.yaml says
// (charts in Istio's source tree all say 1.0.0); version only picks the
// archive in step 2. The loaded chart's name must be name.
//
// From an http(s) Repository it reads index.yaml, finds exactly version and
// downloads the archive (see downloadHTTP for the limits on both); from an
// oci:// Repository it pulls <repo>/<name>:<version>. Either way the archive
// is kept in the cache with its SHA-256, and later loads read it from there
// without any network access as long as it still has that SHA-256; one that
// does not is fetched again, and never loaded.
func (s Source) Load(ctx context.Context, name, version string) (*chart.Chart, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Directory != "" {
		return loadFromDirectory(s.Directory, name, version)
	}
	if err := ValidateVersion(version); err != nil {
		return nil, fmt.Errorf("chart %s: %w", name, err)
	}
	cacheDir, err := s.cacheDir()
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s from %s: %w", name, version, s.Repository, err)
	}
	if strings.HasPrefix(s.Repository, "oci://") {
		return loadCached(ctx, cacheDir, s.Repository, name, version, pullOCI)
	}
	transport := s.transport
	if transport == nil {
		transport = repositoryTransport
	}
	download := func(ctx context.Context, repository, name, version string) ([]byte, error) {
		return downloadHTTP(ctx, transport, repository, name, version)
	}
	return loadCached(ctx, cacheDir, s.Repository, name, version, download)
}

// ValidateVersion accepts exact Istio versions only, such as 1.29.0 or
// 1.29.0-beta.1: a strict semantic version, since the version names both the
// chart and the image tag. No range, wildcard or partial version, no leading
// "v" (Istio tags neither charts nor images with one) and no build metadata
// (an image tag cannot hold "+"). It is the one rule of ristio's istioVersion.
func ValidateVersion(version string) error {
	if version == "" {
		return fmt.Errorf("no version given: an exact version such as 1.29.0 is required")
	}
	if strings.HasPrefix(version, "v") {
		return fmt.Errorf("version %q starts with \"v\": Istio's charts and images are tagged without it (1.29.0, not v1.29.0)", version)
	}
	v, err := semver.StrictNewVersion(version)
	if err != nil {
		return fmt.Errorf("version %q is not an exact semantic version such as 1.29.0 (ranges are not accepted): %w", version, err)
	}
	if v.Metadata() != "" {
		return fmt.Errorf("version %q has build metadata (+%s), which an image tag cannot hold", version, v.Metadata())
	}
	return nil
}

// cacheDir resolves the cache root.
func (s Source) cacheDir() (string, error) {
	if s.CacheDir != "" {
		return s.CacheDir, nil
	}
	return DefaultCacheDir()
}

// DefaultCacheDir is $RISTIO_CHART_CACHE, or else <user cache dir>/ristio/charts.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no chart cache folder: set %s: %w", CacheEnv, err)
	}
	return filepath.Join(d, "ristio", "charts"), nil
}

// CachePath is where the archive of name at version from repository is kept
// under cacheDir: <cacheDir>/<first 16 hex digits of sha256(repository)>/<name>-<version>.tgz.
// Its SHA-256 at download time is recorded next to it, in <CachePath>.sha256
// (in sha256sum's format). The folders are created 0700.
func CachePath(cacheDir, repository, name, version string) string {
	sum := sha256.Sum256([]byte(normalizeRepository(repository)))
	return filepath.Join(cacheDir, hex.EncodeToString(sum[:])[:16], name+"-"+version+".tgz")
}

func normalizeRepository(repository string) string {
	return strings.TrimRight(repository, "/")
}
