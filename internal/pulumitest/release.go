package pulumitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	ristio "github.com/ristio/pulumi-ristio"
)

// Plugin is one of the two plugins a release ships.
type Plugin struct {
	Kind string // "resource" or "converter"
	Name string // "ristio" or "ristioctl"
}

var (
	// Provider is pulumi-resource-ristio.
	Provider = Plugin{Kind: "resource", Name: ristio.Name}
	// Converter is pulumi-converter-ristioctl.
	Converter = Plugin{Kind: "converter", Name: "ristioctl"}
)

// Archive is the name of the plugin's release archive for this machine, as
// scripts/dist.sh writes it and the engine asks for it.
func (p Plugin) Archive() string {
	return fmt.Sprintf("pulumi-%s-%s-v%s-%s-%s.tar.gz", p.Kind, p.Name, ristio.Version, runtime.GOOS, runtime.GOARCH)
}

// Installed is where the engine keeps the plugin once installed in home.
func (p Plugin) Installed(home string) string {
	return filepath.Join(home, "plugins", fmt.Sprintf("%s-%s-v%s", p.Kind, p.Name, ristio.Version))
}

var (
	archivesOnce sync.Once
	archivesDir  string
	archivesErr  error
)

// Archives builds this machine's release archives of both plugins with
// scripts/dist.sh, once per test binary, and returns their directory (next
// to PluginDir's, so it goes with it).
func Archives(t testing.TB) string {
	t.Helper()
	archivesOnce.Do(func() {
		dir := filepath.Join(PluginDir(t), "dist")
		cmd := exec.Command(filepath.Join(RepoRoot(), "scripts", "dist.sh"), dir, runtime.GOOS+"/"+runtime.GOARCH)
		env, err := DistEnv()
		if err != nil {
			archivesErr = err
			return
		}
		cmd.Env = append(os.Environ(), env)
		if out, err := cmd.CombinedOutput(); err != nil {
			archivesErr = fmt.Errorf("scripts/dist.sh: %v\n%s", err, out)
			return
		}
		archivesDir = dir
	})
	if archivesErr != nil {
		t.Fatal(archivesErr)
	}
	return archivesDir
}

// DistEnv is the environment entry that has scripts/dist.sh build with cgo
// as PluginDir's go build does, so it reuses that build's compiled packages
// (a static build recompiles everything: minutes). What the tests check is
// the archives and how they install; `make dist` makes static ones.
func DistEnv() (string, error) {
	cgo, err := exec.Command("go", "env", "CGO_ENABLED").Output()
	if err != nil {
		return "", fmt.Errorf("go env CGO_ENABLED: %v", err)
	}
	return "RISTIO_DIST_CGO_ENABLED=" + strings.TrimSpace(string(cgo)), nil
}

// ReleaseServer serves Archives over HTTP on loopback, standing in for the
// GitHub release that ristio.PluginDownloadURL names.
type ReleaseServer struct {
	// Env is CLIEnv (an empty PULUMI_HOME, no ristio plugin on PATH) where
	// the engine ignores plugins on PATH and downloads from this server
	// whatever would come from ristio.PluginDownloadURL.
	Env map[string]string

	mu        sync.Mutex
	requested []string
}

// ServeRelease starts a ReleaseServer for the test.
func ServeRelease(t testing.TB) *ReleaseServer {
	t.Helper()
	dir := Archives(t)
	s := &ReleaseServer{Env: CLIEnv(t)}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requested = append(s.requested, strings.TrimPrefix(r.URL.Path, "/"))
		s.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.Env["PULUMI_IGNORE_AMBIENT_PLUGINS"] = "true"
	// PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES is regexp=URL, matched against the
	// download URL a program or SDK names: the released value stays in them.
	s.Env["PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES"] = "^" + regexp.QuoteMeta(ristio.PluginDownloadURL) + "$=" + srv.URL
	return s
}

// Downloaded fails the test unless the engine fetched the plugin's archive
// from the server and installed it in the Env's PULUMI_HOME.
func (s *ReleaseServer) Downloaded(t testing.TB, p Plugin) {
	t.Helper()
	s.mu.Lock()
	requested := slices.Clone(s.requested)
	s.mu.Unlock()
	if !slices.Contains(requested, p.Archive()) {
		t.Errorf("the engine did not download %s from the release server (requests: %v)", p.Archive(), requested)
	}
	if _, err := os.Stat(p.Installed(s.Env["PULUMI_HOME"])); err != nil {
		t.Errorf("%s-%s is not installed in PULUMI_HOME: %v", p.Kind, p.Name, err)
	}
}
