package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/internal/pulumitest"
	"github.com/ristio/pulumi-ristio/provider"
)

// convertExample runs `pulumi convert --from ristioctl --language <language>`
// on a copy of examples/ristioctl/mesh.yaml (with a kubeconfig beside it) as
// a user does after a release: the converter installed from its archive, and
// the provider (which the CLI needs to write most languages) downloaded from
// the release. It returns the release server and the folder it wrote.
func convertExample(t *testing.T, language string) (release *pulumitest.ReleaseServer, out string) {
	t.Helper()
	release = installedConverter(t)
	src := t.TempDir()
	copyFile(t, filepath.Join(pulumitest.RepoRoot(), "examples", "ristioctl", "mesh.yaml"), filepath.Join(src, "mesh.yaml"))
	writeFile(t, filepath.Join(src, "kubeconfig.yaml"), fakeKubeconfig)
	out = filepath.Join(t.TempDir(), "usmesh")
	if log, err := pulumitest.Run(t, release.Env, src, "convert", "--from", "ristioctl", "--language", language, "--out", out); err != nil {
		t.Fatalf("pulumi convert --language %s: %v\n%s", language, err, log)
	}
	return release, out
}

// installedConverter is a fresh PULUMI_HOME holding only the converter,
// installed with `pulumi plugin install converter ristioctl <version> -f`
// from the archive `make dist` builds; no plugin is on PATH.
func installedConverter(t *testing.T) *pulumitest.ReleaseServer {
	t.Helper()
	release := pulumitest.ServeRelease(t)
	archive := filepath.Join(pulumitest.Archives(t), pulumitest.Converter.Archive())
	if log, err := pulumitest.Run(t, release.Env, t.TempDir(), "plugin", "install", "converter", pulumitest.Converter.Name, provider.Version, "-f", archive); err != nil {
		t.Fatalf("pulumi plugin install converter: %v\n%s", err, log)
	}
	if _, err := os.Stat(pulumitest.Converter.Installed(release.Env["PULUMI_HOME"])); err != nil {
		t.Fatalf("the converter is not in PULUMI_HOME after its install: %v", err)
	}
	return release
}

// fakeKubeconfig has contexts cluster1 and cluster2 on servers nothing
// listens on: a preview reads kubeconfigs, it does not call the clusters.
const fakeKubeconfig = `apiVersion: v1
kind: Config
clusters:
- {name: c1, cluster: {server: "https://127.0.0.1:1"}}
- {name: c2, cluster: {server: "https://127.0.0.1:2"}}
users:
- {name: u, user: {token: not-a-secret}}
contexts:
- {name: cluster1, context: {cluster: c1, user: u}}
- {name: cluster2, context: {cluster: c2, user: u}}
current-context: cluster1
`

// TestConvertRistioctlToYAML converts examples/ristioctl/mesh.yaml with the
// real CLI (`pulumi convert --from ristioctl --language yaml`), then previews
// the YAML program it wrote: the converted program is one the provider takes.
func TestConvertRistioctlToYAML(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Pulumi CLI")
	}
	release, out := convertExample(t, "yaml")
	env := release.Env

	var program struct {
		Resources map[string]struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
			Options    struct {
				Version           string `json:"version"`
				PluginDownloadURL string `json:"pluginDownloadURL"`
			} `json:"options"`
		} `json:"resources"`
		Outputs map[string]string `json:"outputs"`
	}
	data, err := os.ReadFile(filepath.Join(out, "Main.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &program); err != nil {
		t.Fatal(err)
	}
	mesh := program.Resources["mesh"]
	if mesh.Type != "ristio:MultiClusterMesh" || mesh.Properties["meshId"] != "usmesh" ||
		mesh.Properties["istioVersion"] != "1.30.5" || mesh.Properties["installHelloWorld"] != true {
		t.Errorf("converted mesh: %+v\n%s", mesh, data)
	}
	if o := mesh.Options; o.Version != provider.Version || o.PluginDownloadURL != provider.PluginDownloadURL {
		t.Errorf("the converted mesh asks for plugin %q from %q, want %s from %s", o.Version, o.PluginDownloadURL, provider.Version, provider.PluginDownloadURL)
	}
	cert, _ := mesh.Properties["certificate"].(map[string]any)
	if cert["validityHours"] != float64(87600) || cert["sanSuffix"] != "istio.io" || cert["keyType"] != "ECDSA" {
		t.Errorf("converted certificate: %v", cert)
	}
	clusters, _ := mesh.Properties["clusters"].([]any)
	if len(clusters) != 2 {
		t.Fatalf("converted clusters: %v", clusters)
	}
	for i, c := range clusters {
		name := []string{"cluster1", "cluster2"}[i]
		m, _ := c.(map[string]any)
		if m["name"] != name || m["context"] != name || m["kubeconfigFile"] != "kubeconfig.yaml" {
			t.Errorf("clusters[%d] = %v", i, m)
		}
	}
	if program.Outputs["gatewayAddresses"] != "${mesh.gatewayAddresses}" {
		t.Errorf("outputs: %v", program.Outputs)
	}

	// The program runs: a preview lists the mesh and its children.
	writeFile(t, filepath.Join(out, "kubeconfig.yaml"), fakeKubeconfig)
	if log, err := pulumitest.Run(t, env, out, "stack", "init", "dev"); err != nil {
		t.Fatalf("stack init: %v\n%s", err, log)
	}
	log, err := pulumitest.Run(t, env, out, "preview", "--non-interactive")
	if err != nil {
		t.Fatalf("pulumi preview of the converted program: %v\n%s", err, log)
	}
	for _, want := range []string{"ristio:index:MultiClusterMesh", "mesh-cluster1-istio", "mesh-cluster2-to-cluster1", "mesh-cluster2-helloworld"} {
		if !strings.Contains(log, want) {
			t.Errorf("preview does not show %s:\n%s", want, tail(log, 40))
		}
	}
	release.Downloaded(t, pulumitest.Provider)
}

// TestConvertRistioctlProblems: a bad mesh file fails the conversion with a
// diagnostic at its file and line, and nothing is written.
func TestConvertRistioctlProblems(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Pulumi CLI")
	}
	env := installedConverter(t).Env
	src := t.TempDir()
	mesh, err := os.ReadFile(filepath.Join(pulumitest.RepoRoot(), "examples", "ristioctl", "mesh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(mesh), "  context: cluster2\n", "  contxt: cluster2\n", 1)
	bad = strings.Replace(bad, "  meshID: usmesh\n  version: \"1.30.5\"\n  installHelloWorld: true\n---", "  meshID: eumesh\n  version: \"1.30.5\"\n  installHelloWorld: true\n---", 1)
	writeFile(t, filepath.Join(src, "ristioctl.yaml"), bad)
	out := filepath.Join(t.TempDir(), "out")
	log, err := pulumitest.Run(t, env, src, "convert", "--from", "ristioctl", "--language", "yaml", "--out", out, "--", "ristioctl.yaml")
	if err == nil {
		t.Fatalf("convert of a bad file succeeded:\n%s", log)
	}
	file := filepath.Join(src, "ristioctl.yaml")
	for _, want := range []string{
		// The CLI prints each at file:line,column.
		file + `:31,3-3: Cluster "cluster2" spec: unknown field "contxt"`,
		file + `:21,11-11: cluster "cluster1" has meshID "eumesh", but Certificate "ristioctl-certs" (line 12) has "usmesh"`,
		file + `:30,19-19: cluster "cluster2": kubeconfigFile ` + filepath.Join(src, "kubeconfig.yaml") + ` does not exist`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("convert output lacks %q:\n%s", want, log)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("convert wrote %d files after failing", len(entries))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
