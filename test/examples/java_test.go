package examples

import (
	"archive/zip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/provider"
)

// TestJavaExample runs examples/java as a Java user does on a fresh machine:
// `pulumi up` of the Maven project through pulumi-language-java (built by
// `make tools`), with com.ristio:ristio from the local Maven repository, where
// scripts/sdk-check.sh java installs sdk/java, an empty PULUMI_HOME and no
// ristio plugin on PATH. The jar's plugin.json names the plugin and its
// pluginDownloadURL, so the engine downloads the plugin (from a loopback
// server standing in for the GitHub release).
func TestJavaExample(t *testing.T) {
	var release *pulumitest.ReleaseServer
	exercise(t, func(t *testing.T, _ map[string]string) runner {
		start := time.Now()
		sdkCheck(t, "java")
		t.Logf("TIMING %s: sdk-check java %s", t.Name(), time.Since(start).Round(time.Millisecond))
		if _, err := os.Stat(filepath.Join(pulumitest.ToolsDir(), "bin", "pulumi-language-java")); err != nil {
			t.Fatalf("pulumi-language-java is missing from %s: run `make tools` first", pulumitest.ToolsDir())
		}
		release = pulumitest.ServeRelease(t)
		// The CLI does not bundle the Java host (it would download one from
		// get.pulumi.com): found on PATH, as in a Pulumi install's folder,
		// which the ambient-plugin lookup needs.
		env := maps.Clone(release.Env)
		delete(env, "PULUMI_IGNORE_AMBIENT_PLUGINS")
		return versionedProviders{autoRunner{stack: pulumitest.LocalStackIn(t, copyExample(t, "java"), env)}}
	}, sidecarOnly)
	release.Downloaded(t, pulumitest.Provider)
}

// versionedProviders fails a preview that moves default providers. The Java
// host tells the engine the plugin's version before the program runs (the
// packages the jar's plugin.json names), so the component's children get a
// versioned default provider from the first `up` on. When the host cannot
// read them (Maven's terminal reset after the JSON, without
// examples/java/.mvn/jvm.config), the first `up` makes an unversioned one
// that the next preview deletes.
type versionedProviders struct{ runner }

func (v versionedProviders) run(t *testing.T, op string, config map[string]string) result {
	t.Helper()
	res := v.runner.run(t, op, config)
	if p := res.defaultProviderSteps(); op == "preview" && len(p) > 0 {
		t.Errorf("preview moves default providers %v: the engine did not learn the plugin's version from pulumi-language-java", p)
	}
	return res
}

// TestJavaPackage checks the jar a Java user gets: it is com.ristio:ristio at
// provider/VERSION, asks for the plugin of that version from
// pluginDownloadURL, and holds the mesh component; examples/java asks for it
// and for the com.pulumi:pulumi the SDK is built against.
func TestJavaPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Java SDK with Maven")
	}
	jarPath := filepath.Join(sdkCheck(t, "java"), "java", "sdk", "target", "ristio-"+provider.Version+".jar")
	info, err := os.Stat(jarPath)
	if err != nil {
		t.Fatalf("the SDK jar for version %s: %v", provider.Version, err)
	}
	t.Logf("%s: %d bytes", filepath.Base(jarPath), info.Size())
	jar, err := zip.OpenReader(jarPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jar.Close() })

	const dir = "com/ristio/ristio/"
	if got := strings.TrimSpace(jarFile(t, jar, dir+"version.txt")); got != provider.Version {
		t.Errorf("version.txt = %q, want %s", got, provider.Version)
	}
	var plugin struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	}
	if err := json.Unmarshal([]byte(jarFile(t, jar, dir+"plugin.json")), &plugin); err != nil {
		t.Fatalf("plugin.json: %v", err)
	}
	if !plugin.Resource || plugin.Name != provider.Name || plugin.Version != provider.Version || plugin.Server != provider.PluginDownloadURL {
		t.Errorf("plugin.json = %+v, want resource plugin %s %s from %s", plugin, provider.Name, provider.Version, provider.PluginDownloadURL)
	}
	props := jarFile(t, jar, "META-INF/maven/com.ristio/ristio/pom.properties")
	if !strings.Contains(props, "version="+provider.Version+"\n") {
		t.Errorf("pom.properties does not say version=%s:\n%s", provider.Version, props)
	}
	jarFile(t, jar, dir+"MultiClusterMesh.class")

	deps := pomDependencies(t, filepath.Join(pulumitest.RepoRoot(), "examples", "java", "pom.xml"))
	for dep, want := range map[string]string{"com.ristio:ristio": provider.Version, "com.pulumi:pulumi": provider.JavaSDKVersion} {
		if deps[dep] != want {
			t.Errorf("examples/java/pom.xml requires %s %q, want %s", dep, deps[dep], want)
		}
	}
}

// jarFile is the contents of one file of the jar; the test fails without it.
func jarFile(t *testing.T, jar *zip.ReadCloser, name string) string {
	t.Helper()
	f, err := jar.Open(name)
	if err != nil {
		t.Fatalf("the jar has no %s: %v", name, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// pomDependencies maps group:artifact to version for a POM's dependencies.
func pomDependencies(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pom struct {
		Dependencies []struct {
			GroupID    string `xml:"groupId"`
			ArtifactID string `xml:"artifactId"`
			Version    string `xml:"version"`
		} `xml:"dependencies>dependency"`
	}
	if err := xml.Unmarshal(data, &pom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, d := range pom.Dependencies {
		out[fmt.Sprintf("%s:%s", d.GroupID, d.ArtifactID)] = d.Version
	}
	return out
}
