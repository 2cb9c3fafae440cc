package charts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
)

// cacheDamage changes the cache entry whose archive is at path; original is
// the archive as downloaded.
type cacheDamage func(t *testing.T, path string, original []byte)

// cacheDamages are the ways a cached archive stops being the one downloaded.
var cacheDamages = map[string]cacheDamage{
	"an archive replaced by another that loads": func(t *testing.T, path string, original []byte) {
		writeFile(t, path, tamperedArchive(t, original))
	},
	"a truncated archive": func(t *testing.T, path string, original []byte) {
		writeFile(t, path, original[:len(original)/2])
	},
	"an archive without its recorded SHA-256": func(t *testing.T, path string, _ []byte) {
		if err := os.Remove(path + ".sha256"); err != nil {
			t.Fatal(err)
		}
	},
	"a record of another SHA-256": func(t *testing.T, path string, _ []byte) {
		writeFile(t, path+".sha256", []byte(strings.Repeat("0", 64)+"  "+filepath.Base(path)+"\n"))
	},
	"a cached file over the archive limit": func(t *testing.T, path string, _ []byte) {
		if err := os.Truncate(path, charts.MaxArchiveBytes+1); err != nil { // sparse: cheap to make
			t.Fatal(err)
		}
	},
}

// A damaged cache entry is fetched again, and what loads is what the
// repository serves.
func TestLoadRefetchesACacheEntryThatChanged(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0")
	original := readFile(t, filepath.Join(repo.Dir, "istiod-1.0.0.tgz"))
	for scenario, damage := range cacheDamages {
		t.Run(scenario, func(t *testing.T) {
			cache := t.TempDir()
			src := charts.Source{Repository: repo.URL, CacheDir: cache}
			if _, err := src.Load(context.Background(), charts.Istiod, "1.0.0"); err != nil {
				t.Fatal(err)
			}
			path := charts.CachePath(cache, repo.URL, charts.Istiod, "1.0.0")
			damage(t, path, original)

			before := repo.Requests()
			ch, err := src.Load(context.Background(), charts.Istiod, "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			if repo.Requests() == before {
				t.Error("the damaged entry was used without fetching the chart again")
			}
			if hasTemplate(ch, tamperedTemplate) {
				t.Error("the tampered chart was loaded")
			}
			checkCacheEntry(t, path, original)
		})
	}
}

// A damaged cache entry whose repository is gone is refused, naming why, and
// removed; an intact one still loads without the network.
func TestLoadRefusesADamagedCacheEntryItCannotFetch(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0")
	original := readFile(t, filepath.Join(repo.Dir, "istiod-1.0.0.tgz"))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	// fill caches the chart as if it had come from the closed server.
	fill := func(t *testing.T) (cache, path string) {
		cache = t.TempDir()
		if _, err := (charts.Source{Repository: repo.URL, CacheDir: cache}).Load(context.Background(), charts.Istiod, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		from := charts.CachePath(cache, repo.URL, charts.Istiod, "1.0.0")
		path = charts.CachePath(cache, gone.URL, charts.Istiod, "1.0.0")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"", ".sha256"} {
			writeFile(t, path+suffix, readFile(t, from+suffix))
		}
		return cache, path
	}

	t.Run("an intact entry loads without the network", func(t *testing.T) {
		cache, _ := fill(t)
		ch, err := charts.Source{Repository: gone.URL, CacheDir: cache}.Load(context.Background(), charts.Istiod, "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Name() != charts.Istiod {
			t.Errorf("loaded %s", ch.Name())
		}
	})
	wantWhy := map[string]string{
		"an archive replaced by another that loads": "is not the",
		"a truncated archive":                       "is not the",
		"an archive without its recorded SHA-256":   "no SHA-256 recorded",
		"a record of another SHA-256":               "is not the " + strings.Repeat("0", 64),
		"a cached file over the archive limit":      "over the limit of",
	}
	for scenario, damage := range cacheDamages {
		t.Run(scenario, func(t *testing.T) {
			cache, path := fill(t)
			damage(t, path, original)
			_, err := charts.Source{Repository: gone.URL, CacheDir: cache}.Load(context.Background(), charts.Istiod, "1.0.0")
			if err == nil {
				t.Fatal("a damaged cache entry was loaded")
			}
			for _, want := range []string{"istiod-1.0.0", "the cached archive " + path + " was refused", wantWhy[scenario], "fetching it again failed", gone.URL} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("the damaged archive is still in the cache (%v)", err)
			}
		})
	}
}

// The cache is its user's alone: the folders Load creates are 0700, the files
// 0600, and each archive has its sha256sum-style record.
func TestCacheIsPrivate(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0")
	root := filepath.Join(t.TempDir(), "ristio")
	cache := filepath.Join(root, "charts")
	if _, err := (charts.Source{Repository: repo.URL, CacheDir: cache}).Load(context.Background(), charts.Base, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	path := charts.CachePath(cache, repo.URL, charts.Base, "1.0.0")
	for p, want := range map[string]os.FileMode{
		root:               0o700,
		cache:              0o700,
		filepath.Dir(path): 0o700,
		path:               0o600,
		path + ".sha256":   0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", p, got, want)
		}
	}
	checkCacheEntry(t, path, readFile(t, filepath.Join(repo.Dir, "base-1.0.0.tgz")))
}

const tamperedTemplate = "templates/tampered.yaml"

// tamperedArchive is archive with one template more: a chart of the same name
// and version that loads, but not the one downloaded.
func tamperedArchive(t *testing.T, archive []byte) []byte {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	ch.Templates = append(ch.Templates, &chart.File{Name: tamperedTemplate, Data: []byte("kind: ConfigMap\n")})
	dir := t.TempDir()
	saved, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	return readFile(t, saved)
}

// checkCacheEntry checks the archive at path is want and its record says so.
func checkCacheEntry(t *testing.T, path string, want []byte) {
	t.Helper()
	if !bytes.Equal(readFile(t, path), want) {
		t.Error("the cached archive is not the one the repository serves")
	}
	sum := sha256.Sum256(want)
	if got, wantRecord := string(readFile(t, path+".sha256")), hex.EncodeToString(sum[:])+"  "+filepath.Base(path)+"\n"; got != wantRecord {
		t.Errorf("record %q, want %q", got, wantRecord)
	}
}

func hasTemplate(ch *chart.Chart, name string) bool {
	for _, f := range ch.Templates {
		if f.Name == name {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
