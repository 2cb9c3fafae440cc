// Package testcharts provides Istio's Helm charts to tests: as a chart
// directory, as a Helm repository on loopback HTTP, and as an OCI registry on
// loopback. The charts come from the istio.io/istio Go module at the version
// pinned as ISTIO_CHARTS_MODULE_VERSION in tools/versions.env, fetched through
// the Go module proxy, so tests need no other network.
//
// Test helper only: production code must not import it.
package testcharts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Chart names, as the charts call themselves (and as pkg/charts names them).
const (
	Base    = "base"
	Istiod  = "istiod"
	Gateway = "gateway"
	// CNI and Ztunnel are the node agents of an ambient mesh.
	CNI     = "cni"
	Ztunnel = "ztunnel"
)

// Names lists the charts in install order: the three of a sidecar mesh, then
// the two an ambient mesh adds.
var Names = []string{Base, Istiod, Gateway, CNI, Ztunnel}

// modulePaths maps each chart name to its folder inside istio.io/istio.
var modulePaths = map[string]string{
	Base:    "manifests/charts/base",
	Istiod:  "manifests/charts/istio-control/istio-discovery",
	Gateway: "manifests/charts/gateway",
	CNI:     "manifests/charts/istio-cni",
	Ztunnel: "manifests/charts/ztunnel",
}

const (
	istioModule = "istio.io/istio"
	versionKey  = "ISTIO_CHARTS_MODULE_VERSION"
)

var module struct {
	once         sync.Once
	version, dir string
	err          error
}

// ModuleVersion returns the pinned istio.io/istio version.
func ModuleVersion(t testing.TB) string {
	t.Helper()
	v, _ := moduleDir(t)
	return v
}

// ModuleChartsDir returns the read-only folder of chart name inside the Go
// module cache.
func ModuleChartsDir(t testing.TB, name string) string {
	t.Helper()
	_, dir := moduleDir(t)
	p, ok := modulePaths[name]
	if !ok {
		t.Fatalf("testcharts: unknown chart %q", name)
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

// Directory returns a fresh, writable folder holding one folder per chart of
// Names (base/, istiod/, ...), ready to be used as a chart directory.
func Directory(t testing.TB) string {
	t.Helper()
	out := t.TempDir()
	for _, name := range Names {
		if err := copyTree(ModuleChartsDir(t, name), filepath.Join(out, name)); err != nil {
			t.Fatalf("testcharts: copy chart %s: %v", name, err)
		}
	}
	return out
}

func moduleDir(t testing.TB) (version, dir string) {
	t.Helper()
	module.once.Do(func() {
		module.version, module.err = pinnedVersion()
		if module.err != nil {
			return
		}
		module.dir, module.err = download(module.version)
	})
	if module.err != nil {
		t.Fatalf("testcharts: %v", module.err)
	}
	return module.version, module.dir
}

// pinnedVersion reads ISTIO_CHARTS_MODULE_VERSION from tools/versions.env.
func pinnedVersion() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the source of testcharts")
	}
	path := filepath.Join(filepath.Dir(file), "..", "..", "tools", "versions.env")
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "=")
		if ok && k == versionKey {
			return strings.Trim(v, `"'`), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no %s", path, versionKey)
}

// download fetches istio.io/istio@version into the module cache and returns
// its folder. It runs outside any module so the root go.mod stays untouched.
func download(version string) (string, error) {
	tmp, err := os.MkdirTemp("", "testcharts-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", istioModule+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &res); jerr == nil && res.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", istioModule, version, res.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", istioModule, version, err, stderr.String())
	}
	if res.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no Dir in %s", istioModule, version, out)
	}
	return res.Dir, nil
}

// copyTree copies the regular files under src to dst, writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
