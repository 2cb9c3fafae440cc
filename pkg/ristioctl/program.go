package ristioctl

import (
	"fmt"
	"strings"
)

// PasswordConfig is the config key the converted program reads the
// certificate password from when the Certificate had password: true.
const PasswordConfig = "certificatePassword"

// componentToken is the MultiClusterMesh component's type token.
const componentToken = "ristio:index:MultiClusterMesh"

// Plugin is the ristio plugin the converted program asks for: its resource
// options name the version and where the engine downloads it, so `pulumi up`
// on a machine without the plugin installs it by itself.
type Plugin struct {
	Version     string
	DownloadURL string
}

// Adoption asks for a program that takes the live mesh over (adopt on every
// cluster) with the root ristioctl made, read from these files, instead of
// making a new mesh.
type Adoption struct {
	RootCertFile string
	RootKeyFile  string
}

// Program returns the mesh as a Pulumi program in PCL, the form `pulumi
// convert` turns into YAML, TypeScript, Python or Go: one MultiClusterMesh
// with ristioctl's settings, asking for plugin, and the gateway addresses as
// an output. With
// adopt, every cluster takes over what ristioctl made, under its root.
//
// step, which ristioctl made its certificates with, makes ECDSA P-256 keys,
// so the generated root (and every intermediate) is ECDSA too. A version
// shared by every cluster becomes the mesh's istioVersion; differing ones
// stay per cluster, as does installHelloWorld unless every cluster has it.
func Program(m *Mesh, adopt *Adoption, plugin Plugin) string {
	var b strings.Builder
	if m.Certificate.Password {
		fmt.Fprintf(&b, "config %s \"string\" {\n\tdescription = %s\n}\n\n", PasswordConfig,
			hclString("Encrypts the exported root key (ristioctl's Certificate had password: true). Set it with `pulumi config set --secret "+PasswordConfig+"`."))
	}
	version := sharedVersion(m.Clusters)
	allHello := len(m.Clusters) > 0
	for _, c := range m.Clusters {
		allHello = allHello && c.InstallHelloWorld
	}

	fmt.Fprintf(&b, "resource mesh %s {\n", hclString(componentToken))
	fmt.Fprintf(&b, "\tmeshId = %s\n", hclString(m.MeshID))
	if version != "" {
		fmt.Fprintf(&b, "\tistioVersion = %s\n", hclString(version))
	}
	if allHello {
		b.WriteString("\tinstallHelloWorld = true\n")
	}
	b.WriteString("\tcertificate = {\n")
	b.WriteString("\t\tkeyType = \"ECDSA\"\n")
	if h := m.Certificate.ValidityHours; h > 0 {
		fmt.Fprintf(&b, "\t\tvalidityHours = %d\n", h)
	}
	if s := m.Certificate.SanSuffix; s != "" {
		fmt.Fprintf(&b, "\t\tsanSuffix = %s\n", hclString(s))
	}
	if m.Certificate.Password {
		fmt.Fprintf(&b, "\t\tpassword = secret(%s)\n", PasswordConfig)
	}
	if adopt != nil {
		fmt.Fprintf(&b, "\t\trootCertPem = readFile(%s)\n", hclString(adopt.RootCertFile))
		fmt.Fprintf(&b, "\t\trootKeyPem = secret(readFile(%s))\n", hclString(adopt.RootKeyFile))
	}
	b.WriteString("\t}\n")
	b.WriteString("\tclusters = [\n")
	for _, c := range m.Clusters {
		b.WriteString("\t\t{\n")
		fmt.Fprintf(&b, "\t\t\tname = %s\n", hclString(c.Name))
		if c.KubeconfigFile != "" {
			fmt.Fprintf(&b, "\t\t\tkubeconfigFile = %s\n", hclString(c.KubeconfigFile))
		}
		if c.Context != "" {
			fmt.Fprintf(&b, "\t\t\tcontext = %s\n", hclString(c.Context))
		}
		if version == "" && c.Version != "" {
			fmt.Fprintf(&b, "\t\t\tistioVersion = %s\n", hclString(c.Version))
		}
		if !allHello && c.InstallHelloWorld {
			b.WriteString("\t\t\tinstallHelloWorld = true\n")
		}
		writeMeshConfig(&b, adopt != nil)
		if adopt != nil {
			b.WriteString("\t\t\tadopt = true\n")
		}
		b.WriteString("\t\t},\n")
	}
	b.WriteString("\t]\n")
	fmt.Fprintf(&b, "\toptions {\n\t\tversion = %s\n\t\tpluginDownloadURL = %s\n\t}\n", hclString(plugin.Version), hclString(plugin.DownloadURL))
	b.WriteString("}\n\n")
	b.WriteString("output gatewayAddresses {\n\tvalue = mesh.gatewayAddresses\n}\n")
	return b.String()
}

// ristioctl installs every control plane with this mesh config (its
// controlplane.yaml). Its template quotes "true" with typographic quotes,
// which reach Istio as part of the value, so Istio reads both settings as
// off. Adoption keeps the values exactly as they are live (a change would
// reach every proxy); a new mesh gets what ristioctl meant.
const (
	ristioctlTrue = "\u201ctrue\u201d"
	dnsCapture    = "ISTIO_META_DNS_CAPTURE"
	dnsAllocate   = "ISTIO_META_DNS_AUTO_ALLOCATE"
)

// writeMeshConfig writes ristioctl's mesh config as a cluster's istiodValues.
func writeMeshConfig(b *strings.Builder, exact bool) {
	on := "true"
	if exact {
		on = ristioctlTrue
	}
	b.WriteString("\t\t\tistiodValues = {\n\t\t\t\tmeshConfig = {\n")
	b.WriteString("\t\t\t\t\tenablePrometheusMerge = false\n")
	b.WriteString("\t\t\t\t\tdefaultConfig = {\n\t\t\t\t\t\tproxyMetadata = {\n")
	fmt.Fprintf(b, "\t\t\t\t\t\t\t%s = %s\n", dnsCapture, hclString(on))
	fmt.Fprintf(b, "\t\t\t\t\t\t\t%s = %s\n", dnsAllocate, hclString(on))
	b.WriteString("\t\t\t\t\t\t}\n\t\t\t\t\t}\n\t\t\t\t}\n\t\t\t}\n")
}

// sharedVersion is the version every cluster gives, or "" when they differ
// (or none gives one).
func sharedVersion(clusters []Cluster) string {
	if len(clusters) == 0 {
		return ""
	}
	v := clusters[0].Version
	for _, c := range clusters[1:] {
		if c.Version != v {
			return ""
		}
	}
	return v
}

// hclString quotes s as an HCL string literal, with no interpolation.
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", "$${", "%{", "%%{")
	return `"` + r.Replace(s) + `"`
}
