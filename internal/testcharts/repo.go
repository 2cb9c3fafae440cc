package testcharts

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// Package writes each chart at each version as <name>-<version>.tgz into a new
// folder and returns it. Chart.yaml's version and appVersion are both set to
// the version.
func Package(t testing.TB, versions ...string) string {
	t.Helper()
	out := t.TempDir()
	for _, name := range Names {
		ch, err := loader.LoadDir(ModuleChartsDir(t, name))
		if err != nil {
			t.Fatalf("testcharts: load chart %s: %v", name, err)
		}
		for _, v := range versions {
			ch.Metadata.Version = v
			ch.Metadata.AppVersion = v
			if _, err := chartutil.Save(ch, out); err != nil {
				t.Fatalf("testcharts: package %s-%s: %v", name, v, err)
			}
		}
	}
	return out
}

// Repo is a Helm chart repository served on loopback HTTP.
type Repo struct {
	// URL is the repository's address, e.g. http://127.0.0.1:41234/charts.
	URL string
	// Dir holds index.yaml and the packaged charts.
	Dir      string
	requests atomic.Int64
}

// Requests returns how many HTTP requests the repository has answered.
func (r *Repo) Requests() int { return int(r.requests.Load()) }

// NewRepo packages the charts at versions (see Package), writes an index.yaml
// with Helm's repo package and serves both under /charts/ until the test ends.
func NewRepo(t testing.TB, versions ...string) *Repo {
	t.Helper()
	r := &Repo{Dir: Package(t, versions...)}
	files := http.StripPrefix("/charts/", http.FileServer(http.Dir(r.Dir)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/charts"

	// Relative URLs in the index, as most repositories have them.
	idx, err := repo.IndexDirectory(r.Dir, "")
	if err != nil {
		t.Fatalf("testcharts: index %s: %v", r.Dir, err)
	}
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(r.Dir, "index.yaml"), 0o644); err != nil {
		t.Fatalf("testcharts: write index: %v", err)
	}
	return r
}

// ServeRepo is NewRepo(t, versions...).URL.
func ServeRepo(t testing.TB, versions ...string) string {
	t.Helper()
	return NewRepo(t, versions...).URL
}

// RemoveFromRepo deletes a packaged chart from the repository's folder while
// leaving it in index.yaml, to simulate a broken repository.
func RemoveFromRepo(t testing.TB, r *Repo, name, version string) {
	t.Helper()
	if err := os.Remove(filepath.Join(r.Dir, name+"-"+version+".tgz")); err != nil {
		t.Fatal(err)
	}
}
