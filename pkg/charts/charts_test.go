package charts_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
)

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		src     charts.Source
		wantErr string
	}{
		"an https repository is fine":               {src: charts.Source{Repository: "https://istio-release.storage.googleapis.com/charts"}},
		"an http repository on 127.0.0.1 is fine":   {src: charts.Source{Repository: "http://127.0.0.1:8080/charts"}},
		"an http repository on 127.0.0.0/8 is fine": {src: charts.Source{Repository: "http://127.1.2.3/charts"}},
		"an http repository on ::1 is fine":         {src: charts.Source{Repository: "http://[::1]:8080/charts"}},
		"an http repository on localhost is fine":   {src: charts.Source{Repository: "http://LocalHost:8080/charts"}},
		"an http repository elsewhere is refused, naming it": {
			src:     charts.Source{Repository: "http://charts.example.com/istio"},
			wantErr: `chart repository "http://charts.example.com/istio": plain http:// is accepted only on a loopback host`,
		},
		"an http repository on a private address is refused": {src: charts.Source{Repository: "http://10.0.0.1/charts"}, wantErr: "only on a loopback host"},
		"a host that only starts like localhost is refused":  {src: charts.Source{Repository: "http://localhost.example.com/charts"}, wantErr: "only on a loopback host"},
		"a host that only starts like 127.0.0.1 is refused":  {src: charts.Source{Repository: "http://127.0.0.1.example.com/charts"}, wantErr: "only on a loopback host"},
		"an http repository elsewhere is refused next to a directory": {
			src: charts.Source{Directory: "/nowhere", Repository: "http://charts.example.com"}, wantErr: "only on a loopback host",
		},
		"an oci registry elsewhere is fine (it is spoken to over https)": {src: charts.Source{Repository: "oci://registry.example.com/charts"}},
		"an oci registry is fine":                    {src: charts.Source{Repository: "oci://ghcr.io/istio/charts"}},
		"a directory alone is fine":                  {src: charts.Source{Directory: "/nowhere"}},
		"a bad repo is an error next to a directory": {src: charts.Source{Directory: "/nowhere", Repository: "ftp://x"}, wantErr: "http://, https:// or oci://"},
		"a directory alone is enough":                {src: charts.Source{Directory: "/nowhere"}},
		"nothing set is an error":                    {src: charts.Source{}, wantErr: "neither"},
		"another scheme is an error":                 {src: charts.Source{Repository: "ftp://example.com/charts"}, wantErr: "http://, https:// or oci://"},
		"a bare path is an error":                    {src: charts.Source{Repository: "example.com/charts"}, wantErr: "http://, https:// or oci://"},
		"a URL without a host is an error":           {src: charts.Source{Repository: "https:///charts"}, wantErr: "no host"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := tt.src.Validate()
			checkErr(t, err, tt.wantErr)
		})
	}
}

// ValidateVersion is the one rule of an exact Istio version, shared by chart
// loading and the provider's input checks.
func TestValidateVersion(t *testing.T) {
	tests := map[string]struct {
		version string
		wantErr string
	}{
		"a release":                              {version: "1.30.5"},
		"a prerelease":                           {version: "1.29.0-beta.1"},
		"a leading v":                            {version: "v1.30.5", wantErr: `starts with "v"`},
		"a capital V is no version either":       {version: "V1.30.5", wantErr: "not an exact semantic version"},
		"build metadata":                         {version: "1.30.5+build.1", wantErr: "build metadata"},
		"a partial version":                      {version: "1.30", wantErr: "not an exact semantic version"},
		"a range":                                {version: "~1.30.0", wantErr: "not an exact semantic version"},
		"a wildcard":                             {version: "1.30.x", wantErr: "not an exact semantic version"},
		"a leading zero":                         {version: "1.030.5", wantErr: "not an exact semantic version"},
		"an empty prerelease identifier":         {version: "1.30.5-beta..1", wantErr: "not an exact semantic version"},
		"surrounding space":                      {version: " 1.30.5", wantErr: "not an exact semantic version"},
		"nothing":                                {version: "", wantErr: "exact version such as"},
		"a prerelease with a hyphenated segment": {version: "1.30.0-alpha.0-rc"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			checkErr(t, charts.ValidateVersion(tt.version), tt.wantErr)
		})
	}
}

func TestLoadFromDirectory(t *testing.T) {
	chartDirs := testcharts.Directory(t)
	archives := testcharts.Package(t, "1.2.3")

	// Folder layouts built from the packaged archives.
	layout := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for dst, src := range files {
			data, err := os.ReadFile(filepath.Join(archives, src))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}

	tests := map[string]struct {
		dir         func(t *testing.T) string
		name, ver   string
		wantVersion string
		wantErr     string
	}{
		"a chart folder is used whatever its version": {
			dir: func(*testing.T) string { return chartDirs }, name: charts.Istiod, ver: "1.29.0", wantVersion: "1.0.0",
		},
		"istiod is found in Istio's manifests/charts layout": {
			dir: func(t *testing.T) string { return filepath.Dir(testcharts.ModuleChartsDir(t, charts.Base)) }, name: charts.Istiod, ver: "1.29.0", wantVersion: "1.0.0",
		},
		"an archive named with the version": {
			dir: func(t *testing.T) string { return layout(t, map[string]string{"base-1.2.3.tgz": "base-1.2.3.tgz"}) }, name: charts.Base, ver: "1.2.3", wantVersion: "1.2.3",
		},
		"an archive named without a version": {
			dir: func(t *testing.T) string { return layout(t, map[string]string{"gateway.tgz": "gateway-1.2.3.tgz"}) }, name: charts.Gateway, ver: "1.29.0", wantVersion: "1.2.3",
		},
		"the only archive of another version": {
			dir: func(t *testing.T) string { return layout(t, map[string]string{"base-1.2.3.tgz": "base-1.2.3.tgz"}) }, name: charts.Base, ver: "1.29.0", wantVersion: "1.2.3",
		},
		"the exact version wins over other archives": {
			dir: func(t *testing.T) string {
				return layout(t, map[string]string{"base-1.2.3.tgz": "base-1.2.3.tgz", "base-9.9.9.tgz": "base-1.2.3.tgz", "base.tgz": "base-1.2.3.tgz"})
			},
			name: charts.Base, ver: "1.2.3", wantVersion: "1.2.3",
		},
		"several other archives are ambiguous": {
			dir: func(t *testing.T) string {
				return layout(t, map[string]string{"base-1.2.3.tgz": "base-1.2.3.tgz", "base-1.2.4.tgz": "base-1.2.3.tgz"})
			},
			name: charts.Base, ver: "1.29.0", wantErr: "several other archives",
		},
		"a missing chart names what was looked for": {
			dir: func(t *testing.T) string { return t.TempDir() }, name: charts.Base, ver: "1.29.0", wantErr: "base-1.29.0.tgz",
		},
		"a chart of another name is refused": {
			dir: func(t *testing.T) string { return layout(t, map[string]string{"istiod.tgz": "gateway-1.2.3.tgz"}) }, name: charts.Istiod, ver: "1.2.3", wantErr: `called "gateway"`,
		},
		"a missing directory is an error": {
			dir: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, name: charts.Base, ver: "1.2.3", wantErr: "no such file",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			src := charts.Source{Directory: tt.dir(t), Repository: "https://ignored.example.com"}
			ch, err := src.Load(context.Background(), tt.name, tt.ver)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if ch.Name() != tt.name || ch.Metadata.Version != tt.wantVersion {
				t.Errorf("loaded %s-%s, want %s-%s", ch.Name(), ch.Metadata.Version, tt.name, tt.wantVersion)
			}
		})
	}
}

func TestLoadFromHTTPRepositoryFetchesOnce(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0", "1.1.0")
	cache := t.TempDir()
	src := charts.Source{Repository: repo.URL + "/", CacheDir: cache}

	ch, err := src.Load(context.Background(), charts.Istiod, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name() != "istiod" || ch.Metadata.Version != "1.1.0" || ch.Metadata.AppVersion != "1.1.0" {
		t.Fatalf("loaded %s-%s (app %s)", ch.Name(), ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	if got := repo.Requests(); got != 2 {
		t.Errorf("first load made %d requests, want 2 (index.yaml and the archive)", got)
	}
	// The trailing slash does not change the cache key.
	cached := charts.CachePath(cache, repo.URL, charts.Istiod, "1.1.0")
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("archive not cached at %s: %v", cached, err)
	}

	before := repo.Requests()
	again, err := charts.Source{Repository: repo.URL, CacheDir: cache}.Load(context.Background(), charts.Istiod, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if again.Metadata.Version != "1.1.0" {
		t.Errorf("cached load gave %s", again.Metadata.Version)
	}
	if got := repo.Requests() - before; got != 0 {
		t.Errorf("second load made %d requests, want none", got)
	}

	// Another version of the same source is fetched, into the same folder.
	if _, err := src.Load(context.Background(), charts.Istiod, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(charts.CachePath(cache, repo.URL, charts.Istiod, "1.0.0")) != filepath.Dir(cached) {
		t.Error("versions of one source are cached in different folders")
	}
	entries, _ := os.ReadDir(filepath.Dir(cached))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestLoadErrors(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0", "1.1.0")
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	notARepo := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notARepo.Close)
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(stalled.Close)
	oci := testcharts.NewOCI(t, "1.0.0")

	tests := map[string]struct {
		repo, name, version string
		timeout             time.Duration
		wantErr             []string
	}{
		"a missing version names chart, version, repository and what is there": {
			repo: repo.URL, name: charts.Base, version: "1.2.0",
			wantErr: []string{"base-1.2.0", repo.URL, "available: 1.1.0, 1.0.0"},
		},
		"a missing chart names it and the repository": {
			repo: repo.URL, name: "no-such-chart", version: "1.0.0",
			wantErr: []string{"no-such-chart-1.0.0", repo.URL},
		},
		"an unreachable repository names chart and repository": {
			repo: closed.URL, name: charts.Istiod, version: "1.0.0",
			wantErr: []string{"istiod-1.0.0", closed.URL, "cannot read the index"},
		},
		"a server without an index names chart and repository": {
			repo: notARepo.URL, name: charts.Istiod, version: "1.0.0",
			wantErr: []string{"istiod-1.0.0", notARepo.URL, "404"},
		},
		"a stalled repository ends with the context": {
			repo: stalled.URL, name: charts.Base, version: "1.0.0", timeout: 300 * time.Millisecond,
			wantErr: []string{"base-1.0.0", stalled.URL, "deadline exceeded"},
		},
		"a version range is refused": {
			repo: repo.URL, name: charts.Base, version: "~1.0", wantErr: []string{"exact semantic version"},
		},
		"a partial version is refused": {
			repo: repo.URL, name: charts.Base, version: "1.0", wantErr: []string{"exact semantic version"},
		},
		"no version is refused": {
			repo: repo.URL, name: charts.Base, version: "", wantErr: []string{"exact version"},
		},
		"a leading v is refused although the index has the version": {
			repo: repo.URL, name: charts.Base, version: "v1.0.0", wantErr: []string{"base", `"v1.0.0" starts with "v"`},
		},
		"a missing OCI tag names chart, version and repository": {
			repo: oci.Ref, name: charts.Base, version: "1.2.0", wantErr: []string{"base-1.2.0", oci.Ref},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := charts.Source{Repository: tt.repo, CacheDir: t.TempDir()}.Load(ctx, tt.name, tt.version)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if tt.timeout > 0 && time.Since(start) > 5*time.Second {
				t.Errorf("took %s to give up", time.Since(start))
			}
		})
	}
}

func TestLoadFromOCIFetchesOnce(t *testing.T) {
	reg := testcharts.NewOCI(t, "1.0.0", "1.1.0")
	cache := t.TempDir()
	src := charts.Source{Repository: reg.Ref, CacheDir: cache}
	for _, name := range []string{charts.Base, charts.Istiod, charts.Gateway} {
		ch, err := src.Load(context.Background(), name, "1.1.0")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Name() != name || ch.Metadata.Version != "1.1.0" {
			t.Errorf("loaded %s-%s", ch.Name(), ch.Metadata.Version)
		}
	}
	if reg.Requests() == 0 {
		t.Fatal("registry saw no requests")
	}
	before := reg.Requests()
	if _, err := src.Load(context.Background(), charts.Istiod, "1.1.0"); err != nil {
		t.Fatal(err)
	}
	if got := reg.Requests() - before; got != 0 {
		t.Errorf("second load made %d requests, want none", got)
	}
}

func TestDefaultCacheDirFollowsTheEnvironment(t *testing.T) {
	t.Setenv(charts.CacheEnv, "/tmp/ristio-charts-test")
	got, err := charts.DefaultCacheDir()
	if err != nil || got != "/tmp/ristio-charts-test" {
		t.Errorf("DefaultCacheDir() = %q, %v", got, err)
	}
	t.Setenv(charts.CacheEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	got, err = charts.DefaultCacheDir()
	if err != nil || got != filepath.Join("/tmp/xdg", "ristio", "charts") {
		t.Errorf("DefaultCacheDir() = %q, %v", got, err)
	}
}

func TestCachePathIsKeyedBySource(t *testing.T) {
	a := charts.CachePath("/c", "https://a.example.com/charts", "base", "1.0.0")
	b := charts.CachePath("/c", "https://b.example.com/charts", "base", "1.0.0")
	if filepath.Dir(a) == filepath.Dir(b) {
		t.Error("two sources share a cache folder")
	}
	if len(filepath.Base(filepath.Dir(a))) != 16 || filepath.Base(a) != "base-1.0.0.tgz" {
		t.Errorf("unexpected cache path %s", a)
	}
}

// A chart saved by Helm loads from a directory archive just like from a repository.
func TestLoadedArchiveRoundTrips(t *testing.T) {
	ch, err := loader.LoadDir(testcharts.ModuleChartsDir(t, charts.Gateway))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := chartutil.Save(ch, dir); err != nil {
		t.Fatal(err)
	}
	got, err := charts.Source{Directory: dir}.Load(context.Background(), charts.Gateway, ch.Metadata.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Templates) != len(ch.Templates) {
		t.Errorf("%d templates after a round trip, want %d", len(got.Templates), len(ch.Templates))
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
