package charts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// sumSuffix names the file next to a cached archive that records the
// archive's SHA-256 at download time.
const sumSuffix = ".sha256"

// fetchFunc downloads the archive of name at version from repository.
type fetchFunc func(ctx context.Context, repository, name, version string) ([]byte, error)

// loadCached returns the chart from the cache when the archive there still
// has the SHA-256 recorded when it was downloaded. Otherwise (no archive, no
// record, another SHA-256, or an archive that does not load) the entry is
// removed and the chart is fetched, checked and cached again; if it cannot be
// fetched, the error says why the cached archive was refused.
func loadCached(ctx context.Context, cacheDir, repository, name, version string, fetch fetchFunc) (*chart.Chart, error) {
	path := CachePath(cacheDir, repository, name, version)
	ch, cacheErr := readCached(path, name, version)
	if cacheErr == nil {
		return ch, nil
	}
	damaged := !errors.Is(cacheErr, errNotCached)
	if damaged {
		_ = os.Remove(path)
		_ = os.Remove(path + sumSuffix)
	}
	data, err := fetch(ctx, repository, name, version)
	if err != nil {
		if damaged {
			return nil, fmt.Errorf("chart %s-%s: the cached archive %s was refused (%v) and fetching it again failed: %w", name, version, path, cacheErr, err)
		}
		return nil, err
	}
	ch, err = loadArchive(data, name, version)
	if err != nil {
		return nil, fmt.Errorf("chart %s-%s from %s: %w", name, version, repository, err)
	}
	if err := writeCached(path, data); err != nil {
		return nil, fmt.Errorf("chart %s-%s from %s: cache it: %w", name, version, repository, err)
	}
	return ch, nil
}

// errNotCached says there is no archive in the cache; any other error from
// readCached says why the archive there was refused.
var errNotCached = errors.New("not in the cache")

// readCached loads the archive at path if it has the SHA-256 recorded next to
// it.
func readCached(path, name, version string) (*chart.Chart, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotCached
	}
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxArchiveBytes {
		return nil, fmt.Errorf("its %d bytes are over the limit of %s", fi.Size(), formatBytes(MaxArchiveBytes))
	}
	want, err := readSum(path + sumSuffix)
	if err != nil {
		return nil, fmt.Errorf("no SHA-256 recorded for it: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if got := sha256Hex(data); got != want {
		return nil, fmt.Errorf("its SHA-256 %s is not the %s recorded at download", got, want)
	}
	return loadArchive(data, name, version)
}

// readSum reads the hex SHA-256 that starts a sha256sum-style record.
func readSum(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fields := strings.Fields(string(raw))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s is empty", path)
	}
	return strings.ToLower(fields[0]), nil
}

// writeCached writes the archive to path and its SHA-256 to path.sha256, as
// sha256sum would print it, so `sha256sum -c` in the folder checks it too.
func writeCached(path string, data []byte) error {
	if err := writeAtomically(path, data); err != nil {
		return err
	}
	record := sha256Hex(data) + "  " + filepath.Base(path) + "\n"
	return writeAtomically(path+sumSuffix, []byte(record))
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
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
// folder and a rename, so readers never see a partial file. Missing folders
// are created 0700 and the file is 0600: the cache is its user's alone.
func writeAtomically(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*") // created 0600
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
	return os.Rename(tmp, path)
}
