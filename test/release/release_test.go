// Package release checks the plugin as users install it: the archive `make
// dist` builds, installed by the real Pulumi CLI, used by a YAML program with
// no plugin on PATH.
package release

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/provider"
)

const program = `name: ristio-release
runtime: yaml
resources:
  root:
    type: ristio:index:RootCA
    properties:
      keyType: ECDSA
      validityHours: 48
outputs:
  notAfter: ${root.notAfter}
`

func TestArchiveInstallsWithTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and runs the Pulumi CLI: run make test")
	}
	dist := pulumitest.Archives(t)
	for _, p := range []pulumitest.Plugin{pulumitest.Provider, pulumitest.Converter} {
		archive := filepath.Join(dist, p.Archive())
		bin := "pulumi-" + p.Kind + "-" + p.Name
		if got := archiveEntries(t, archive); len(got) != 1 || got[0] != bin {
			t.Fatalf("%s holds %v, want only %s at the top", p.Archive(), got, bin)
		}
		checkChecksum(t, archive, filepath.Join(dist, bin+"_"+provider.Version+"_checksums.txt"))
	}

	// The CLI and the YAML host, and no ristio plugin, on PATH; as in a
	// Pulumi install, plugins come from the plugin cache and the YAML host
	// from next to the CLI (tools/build.sh bundles it there).
	env := pulumitest.CLIEnv(t)
	env["PULUMI_IGNORE_AMBIENT_PLUGINS"] = "true"
	for _, dir := range strings.Split(env["PATH"], string(os.PathListSeparator)) {
		if _, err := os.Stat(filepath.Join(dir, "pulumi-resource-ristio")); err == nil {
			t.Fatalf("PATH holds a pulumi-resource-ristio in %s: the test would not show the installed one is used", dir)
		}
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "Pulumi.yaml"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	pulumi := func(args ...string) string {
		t.Helper()
		out, err := pulumitest.Run(t, env, work, args...)
		if err != nil {
			t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	pulumi("plugin", "install", "resource", "ristio", provider.Version, "-f", filepath.Join(dist, pulumitest.Provider.Archive()))
	if ls := pulumi("plugin", "ls"); !strings.Contains(ls, "ristio") || !strings.Contains(ls, provider.Version) {
		t.Fatalf("pulumi plugin ls after install:\n%s", ls)
	}
	pulumi("stack", "init", "release")
	up := pulumi("up", "--yes", "--skip-preview")
	if strings.Contains(up, "from $PATH") {
		t.Errorf("up used a plugin from PATH:\n%s", up)
	}
	var outputs map[string]string
	if err := json.Unmarshal([]byte(pulumi("stack", "output", "--json")), &outputs); err != nil || outputs["notAfter"] == "" {
		t.Fatalf("stack outputs %v (%v), want the root's notAfter", outputs, err)
	}
	t.Logf("the installed plugin made a root valid until %s", outputs["notAfter"])
	pulumi("destroy", "--yes", "--skip-preview")
}

func archiveEntries(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func checkChecksum(t *testing.T, archive, sums string) {
	t.Helper()
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(archive)
	list, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(list), want) {
		t.Errorf("%s lacks %q:\n%s", filepath.Base(sums), want, list)
	}
}

// TestSDKsAskForThisPlugin: the SDKs request the plugin version the provider
// is, from where releases are published.
func TestSDKsAskForThisPlugin(t *testing.T) {
	root := pulumitest.RepoRoot()
	for _, f := range []string{"sdk/go/ristio/pulumi-plugin.json", "sdk/python/pulumi_ristio/pulumi-plugin.json"} {
		var meta struct {
			Name, Version, Server string
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Name != provider.Name || meta.Server != provider.PluginDownloadURL || meta.Version != provider.Version {
			t.Errorf("%s: %+v, want name %s, server %s, version %s", f, meta, provider.Name, provider.PluginDownloadURL, provider.Version)
		}
	}
	var pkg struct {
		Version string
		Pulumi  struct{ Name, Version, Server string }
	}
	b, err := os.ReadFile(filepath.Join(root, "sdk/nodejs/package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Pulumi.Server != provider.PluginDownloadURL || pkg.Version != provider.Version {
		t.Errorf("sdk/nodejs/package.json: version %s, pulumi %+v; want %s from %s", pkg.Version, pkg.Pulumi, provider.Version, provider.PluginDownloadURL)
	}
}

// TestReleaseCheck runs `make release-check`'s script for this machine's
// platform: every artifact the release workflow publishes is built, and
// each carries provider/VERSION.
func TestReleaseCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every release artifact: run make test")
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(pulumitest.RepoRoot(), "scripts", "release-check.sh"), out)
	dist, err := pulumitest.DistEnv()
	if err != nil {
		t.Fatal(err)
	}
	// One platform, with cgo as the other tests build.
	cmd.Env = append(os.Environ(), "RISTIO_RELEASE_PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH, dist)
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/release-check.sh: %v\n%s", err, log)
	}
	v := provider.Version
	want := []string{
		"plugins/" + pulumitest.Provider.Archive(),
		"plugins/" + pulumitest.Converter.Archive(),
		"npm/ristio-pulumi-ristio-" + v + ".tgz",
		"python/pulumi_ristio-" + v + "-py3-none-any.whl",
		"python/pulumi_ristio-" + v + ".tar.gz",
		"java/ristio-" + v + ".jar",
		"java/ristio-" + v + "-sources.jar",
		"java/ristio-" + v + "-javadoc.jar",
		"java/pom.xml",
	}
	for _, f := range want {
		st, err := os.Stat(filepath.Join(out, f))
		if err != nil {
			t.Errorf("release-check did not build %s: %v", f, err)
			continue
		}
		t.Logf("%s: %d bytes", f, st.Size())
	}
	if tag, err := os.ReadFile(filepath.Join(out, "go-tag")); err != nil || strings.TrimSpace(string(tag)) != "sdk/v"+v {
		t.Errorf("the Go SDK's tag is %q (%v), want sdk/v%s", tag, err, v)
	}
}

// TestDocsInstallWhatTheReleasePublishes: the install commands in the README
// and the registry docs name the packages and the Go tag the release
// workflow publishes, at this version, with one `go get` form.
func TestDocsInstallWhatTheReleasePublishes(t *testing.T) {
	v := provider.Version
	want := []string{
		"npm install @ristio/pulumi-ristio",
		"com.ristio:ristio:" + v,
		"go get github.com/ristio/pulumi-ristio/sdk@v" + v,
		"pulumi plugin install resource ristio " + v + " --server " + provider.PluginDownloadURL,
		"pulumi plugin install converter ristioctl " + v + " --server " + provider.PluginDownloadURL,
	}
	goGet := regexp.MustCompile(`go get \S+`)
	for _, doc := range []string{"README.md", "docs/installation-configuration.md"} {
		b, err := os.ReadFile(filepath.Join(pulumitest.RepoRoot(), doc))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s does not say %q", doc, w)
			}
		}
		if !strings.Contains(text, "pip install pulumi_ristio") && !strings.Contains(text, "pip install pulumi-ristio") {
			t.Errorf("%s does not say pip install pulumi_ristio", doc)
		}
		for _, form := range goGet.FindAllString(text, -1) {
			if form != "go get github.com/ristio/pulumi-ristio/sdk@v"+v {
				t.Errorf("%s has another go get form: %q", doc, form)
			}
		}
	}
}
