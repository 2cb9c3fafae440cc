package charts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/pkg/ctxbind"
)

// defaultFetchTimeout bounds one HTTP request when the context has no deadline.
const defaultFetchTimeout = 2 * time.Minute

// downloadHTTP fetches the archive of name at version from an http(s) Helm
// repository: index.yaml first, then the archive it points at.
func downloadHTTP(ctx context.Context, repository, name, version string) ([]byte, error) {
	base := normalizeRepository(repository)
	g, err := getter.NewHTTPGetter(
		getter.WithTimeout(fetchTimeout(ctx)),
		getter.WithUserAgent("ristio"),
	)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s from chart repository %s: %w", name, version, repository, err)
	}
	// Helm's getter knows no context: give up on it when ctx ends.
	get := func(href string) (*bytes.Buffer, error) {
		return ctxbind.Call(ctx, func() (*bytes.Buffer, error) { return g.Get(href) })
	}
	indexURL := base + "/index.yaml"
	raw, err := get(indexURL)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s: cannot read the index of chart repository %s: %w", name, version, repository, err)
	}
	var idx repo.IndexFile
	if err := yaml.Unmarshal(raw.Bytes(), &idx); err != nil {
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
	archive, err := get(archiveURL)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s: cannot download %s from chart repository %s: %w", name, version, archiveURL, repository, err)
	}
	if entry.Digest != "" {
		sum := sha256.Sum256(archive.Bytes())
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, entry.Digest) {
			return nil, fmt.Errorf("chart %s-%s from chart repository %s: archive digest %s does not match the index's %s", name, version, repository, got, entry.Digest)
		}
	}
	return archive.Bytes(), nil
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
