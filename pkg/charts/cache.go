package charts

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// fetchFunc downloads the archive of name at version from repository.
type fetchFunc func(ctx context.Context, repository, name, version string) ([]byte, error)

// loadCached returns the chart from the cache, fetching and caching it first
// when it is not there (or the cached file does not load).
func loadCached(ctx context.Context, cacheDir, repository, name, version string, fetch fetchFunc) (*chart.Chart, error) {
	path := CachePath(cacheDir, repository, name, version)
	if data, err := os.ReadFile(path); err == nil {
		if ch, err := loadArchive(data, name, version); err == nil {
			return ch, nil
		}
		// A damaged cache entry is fetched again.
		_ = os.Remove(path)
	}
	data, err := fetch(ctx, repository, name, version)
	if err != nil {
		return nil, err
	}
	ch, err := loadArchive(data, name, version)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s from %s: %w", name, version, repository, err)
	}
	if err := writeAtomically(path, data); err != nil {
		return nil, fmt.Errorf("chart %s-%s from %s: cache it: %w", name, version, repository, err)
	}
	return ch, nil
}

// loadArchive loads a .tgz and checks it is name at version.
func loadArchive(data []byte, name, version string) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if ch.Name() != name || !sameVersion(ch.Metadata.Version, version) {
		return nil, fmt.Errorf("the archive holds %s-%s", ch.Name(), ch.Metadata.Version)
	}
	return ch, nil
}

// writeAtomically writes data to path through a temporary file in the same
// folder and a rename, so readers never see a partial archive.
func writeAtomically(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
