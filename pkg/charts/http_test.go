package charts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	helmrepo "helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
	"github.com/ristio/pulumi-ristio/pkg/charts"
)

// An http:// repository is fetched on loopback and refused anywhere else
// before any request.
func TestLoadOverPlainHTTP(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0")
	tests := map[string]struct {
		repository string
		wantErr    string
	}{
		"127.0.0.1 is fetched":         {repository: repo.URL},
		"localhost is fetched":         {repository: strings.Replace(repo.URL, "127.0.0.1", "localhost", 1)},
		"another host is refused":      {repository: "http://charts.example.com/istio", wantErr: `"http://charts.example.com/istio": plain http:// is accepted only on a loopback host`},
		"a private address is refused": {repository: "http://192.168.1.1/charts", wantErr: "only on a loopback host"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			ch, err := charts.Source{Repository: tc.repository, CacheDir: t.TempDir()}.Load(context.Background(), charts.Base, "1.0.0")
			checkErr(t, err, tc.wantErr)
			if err == nil && ch.Name() != charts.Base {
				t.Errorf("loaded %s", ch.Name())
			}
		})
	}
}

// No redirect, and no archive URL in an index, takes a download from https
// to plain http, or to plain http off loopback.
func TestLoadRefusesToLeaveHTTPS(t *testing.T) {
	plainRepo := testcharts.NewRepo(t, "1.0.0") // plain http on loopback

	// An index whose archive URLs are absolute, on plainRepo.
	idx, err := helmrepo.LoadIndexFile(filepath.Join(plainRepo.Dir, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, versions := range idx.Entries {
		for _, v := range versions {
			v.URLs = []string{plainRepo.URL + "/" + v.Name + "-" + v.Version + ".tgz"}
		}
	}
	absoluteIndex, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}

	mirror := http.StripPrefix("/mirror/", http.FileServer(http.Dir(plainRepo.Dir)))
	redirect := func(prefix, to string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to+strings.TrimPrefix(r.URL.Path, prefix), http.StatusFound)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/mirror/", mirror)
	mux.Handle("/to-https/", redirect("/to-https/", "/mirror/"))
	mux.Handle("/to-http/", redirect("/to-http/", plainRepo.URL+"/"))
	mux.Handle("/archive-to-http/index.yaml", http.StripPrefix("/archive-to-http/", http.FileServer(http.Dir(plainRepo.Dir))))
	mux.Handle("/archive-to-http/", redirect("/archive-to-http/", plainRepo.URL+"/"))
	mux.HandleFunc("/index-to-http/index.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(absoluteIndex) })
	secure := httptest.NewTLSServer(mux)
	t.Cleanup(secure.Close)

	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/off-loopback/"):
			http.Redirect(w, r, "http://charts.example.com/"+strings.TrimPrefix(r.URL.Path, "/off-loopback/"), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/to-https/"):
			http.Redirect(w, r, secure.URL+"/mirror/"+strings.TrimPrefix(r.URL.Path, "/to-https/"), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(plain.Close)

	tests := map[string]struct {
		repository string
		wantErr    []string
	}{
		"a redirect from https to https is followed":         {repository: secure.URL + "/to-https"},
		"a redirect from loopback http to https is followed": {repository: plain.URL + "/to-https"},
		"a redirect of the index from https to http is refused": {
			repository: secure.URL + "/to-http",
			wantErr:    []string{"cannot read the index", plainRepo.URL + "/index.yaml", "redirect from " + secure.URL + "/to-http/index.yaml refused: it leaves https for plain http"},
		},
		"a redirect of the archive from https to http is refused": {
			repository: secure.URL + "/archive-to-http",
			wantErr:    []string{"cannot download", plainRepo.URL + "/istiod-1.0.0.tgz", "redirect from " + secure.URL + "/archive-to-http/istiod-1.0.0.tgz refused: it leaves https for plain http"},
		},
		"an https index pointing at an http archive is refused": {
			repository: secure.URL + "/index-to-http",
			wantErr:    []string{"the index points at " + plainRepo.URL + "/istiod-1.0.0.tgz, refused: it leaves https for plain http"},
		},
		"a redirect from loopback to plain http elsewhere is refused": {
			repository: plain.URL + "/off-loopback",
			wantErr:    []string{"http://charts.example.com/index.yaml", "redirect from " + plain.URL + "/off-loopback/index.yaml refused: plain http:// is accepted only on a loopback host"},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			before := plainRepo.Requests()
			cache := t.TempDir()
			src := charts.WithTransport(charts.Source{Repository: tc.repository, CacheDir: cache}, secure.Client().Transport)
			ch, err := src.Load(context.Background(), charts.Istiod, "1.0.0")
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if ch.Name() != charts.Istiod || ch.Metadata.Version != "1.0.0" {
					t.Errorf("loaded %s-%s", ch.Name(), ch.Metadata.Version)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if got := plainRepo.Requests() - before; got != 0 {
				t.Errorf("the plain http repository got %d requests, want none", got)
			}
			if _, err := os.Stat(charts.CachePath(cache, tc.repository, charts.Istiod, "1.0.0")); err == nil {
				t.Error("a refused chart was cached")
			}
		})
	}
}

// An index or archive over its limit is refused, whether its Content-Length
// says so or it is streamed without one.
func TestLoadRefusesOversizeDownloads(t *testing.T) {
	repo := testcharts.NewRepo(t, "1.0.0")
	index := http.StripPrefix("/", http.FileServer(http.Dir(repo.Dir)))
	declared := func(size int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.WriteHeader(http.StatusOK)
		})
	}
	// streamed sends up to twice the limit with no Content-Length (so
	// chunked), and then says whether all of it went out: it cannot once the
	// client stops reading and hangs up.
	sentAll := make(chan bool, 1)
	streamed := func(limit int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			chunk := make([]byte, 64<<10)
			sent := 0
			defer func() { sentAll <- sent >= 2*limit }()
			for sent < 2*limit {
				n, err := w.Write(chunk)
				sent += n
				if err != nil {
					return
				}
			}
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/declared-index/index.yaml", declared(charts.MaxIndexBytes+1))
	mux.Handle("/streamed-index/index.yaml", streamed(charts.MaxIndexBytes))
	mux.Handle("/declared-archive/index.yaml", http.StripPrefix("/declared-archive", index))
	mux.Handle("/declared-archive/", declared(charts.MaxArchiveBytes+1))
	mux.Handle("/streamed-archive/index.yaml", http.StripPrefix("/streamed-archive", index))
	mux.Handle("/streamed-archive/", streamed(charts.MaxArchiveBytes))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	indexLimit := fmt.Sprintf("over the limit of %d MiB", charts.MaxIndexBytes>>20)
	archiveLimit := fmt.Sprintf("over the limit of %d MiB", charts.MaxArchiveBytes>>20)
	tests := map[string]struct {
		path     string
		streamed bool
		wantErr  []string
	}{
		"an index whose Content-Length is over the limit": {
			path: "/declared-index", wantErr: []string{"cannot read the index", "its Content-Length " + strconv.Itoa(charts.MaxIndexBytes+1) + " is " + indexLimit},
		},
		"an index streamed over the limit": {
			path: "/streamed-index", streamed: true, wantErr: []string{"cannot read the index", "the body is " + indexLimit},
		},
		"an archive whose Content-Length is over the limit": {
			path: "/declared-archive", wantErr: []string{"cannot download", "istiod-1.0.0.tgz", "its Content-Length " + strconv.Itoa(charts.MaxArchiveBytes+1) + " is " + archiveLimit},
		},
		"an archive streamed over the limit": {
			path: "/streamed-archive", streamed: true, wantErr: []string{"cannot download", "istiod-1.0.0.tgz", "the body is " + archiveLimit},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			cache := t.TempDir()
			_, err := charts.Source{Repository: srv.URL + tc.path, CacheDir: cache}.Load(context.Background(), charts.Istiod, "1.0.0")
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if _, err := os.Stat(charts.CachePath(cache, srv.URL+tc.path, charts.Istiod, "1.0.0")); err == nil {
				t.Error("an oversize chart was cached")
			}
			if tc.streamed {
				select {
				case all := <-sentAll:
					if all {
						t.Error("the whole body was read: the download did not stop at the limit")
					}
				case <-time.After(10 * time.Second):
					t.Error("the server is still sending 10s after the download was refused")
				}
			}
		})
	}
}
