package testcharts

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	helmregistry "helm.sh/helm/v3/pkg/registry"
)

// OCI is an in-memory OCI registry on loopback plain HTTP holding the charts.
type OCI struct {
	// Ref is the repository reference to configure, e.g. oci://127.0.0.1:41234/charts;
	// chart name lives at <Ref>/<name>:<version>.
	Ref      string
	requests atomic.Int64
}

// Requests returns how many HTTP requests the registry has answered.
func (o *OCI) Requests() int { return int(o.requests.Load()) }

// NewOCI starts a registry until the test ends and pushes each chart at each
// version to it with Helm's registry client.
func NewOCI(t testing.TB, versions ...string) *OCI {
	t.Helper()
	o := &OCI{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	o.Ref = "oci://" + host + "/charts"

	client, err := helmregistry.NewClient(
		helmregistry.ClientOptPlainHTTP(),
		helmregistry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "registry.json")),
	)
	if err != nil {
		t.Fatalf("testcharts: registry client: %v", err)
	}
	dir := Package(t, versions...)
	for _, name := range Names {
		for _, v := range versions {
			data, err := os.ReadFile(filepath.Join(dir, name+"-"+v+".tgz"))
			if err != nil {
				t.Fatal(err)
			}
			ref := host + "/charts/" + name + ":" + v
			if _, err := client.Push(data, ref); err != nil {
				t.Fatalf("testcharts: push %s: %v", ref, err)
			}
		}
	}
	o.requests.Store(0)
	return o
}

// ServeOCI is NewOCI(t, versions...).Ref.
func ServeOCI(t testing.TB, versions ...string) string {
	t.Helper()
	return NewOCI(t, versions...).Ref
}
