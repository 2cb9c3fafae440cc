package testcharts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
)

func TestDirectoryHoldsEveryChart(t *testing.T) {
	dir := Directory(t)
	for _, name := range Names {
		ch, err := loader.LoadDir(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		if ch.Name() != name {
			t.Errorf("chart in %s/ is called %q", name, ch.Name())
		}
		t.Logf("%s: version %s appVersion %s", name, ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	// Writable copy, unlike the module cache.
	if err := os.WriteFile(filepath.Join(dir, "base", "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRepoServesAnIndexWithEveryVersion(t *testing.T) {
	r := NewRepo(t, "1.0.0", "1.1.0")
	data, err := os.ReadFile(filepath.Join(r.Dir, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"base-1.0.0.tgz", "istiod-1.1.0.tgz", "gateway-1.0.0.tgz", "cni-1.0.0.tgz", "ztunnel-1.1.0.tgz"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("index.yaml lacks %s", want)
		}
	}
	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s is not on loopback", r.URL)
	}
}

func TestOCIAcceptsPushes(t *testing.T) {
	o := NewOCI(t, "1.0.0")
	if !strings.HasPrefix(o.Ref, "oci://127.0.0.1:") {
		t.Errorf("Ref %s is not on loopback", o.Ref)
	}
}
