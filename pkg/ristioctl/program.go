package ristioctl

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// PasswordConfig is the config key the converted program reads the
// certificate password from when the Certificate had password: true.
const PasswordConfig = "certificatePassword"

// Plugin is the ristio plugin the converted program asks for: the mesh's type
// token, and resource options naming the version and where the engine
// downloads it, so `pulumi up` on a machine without the plugin installs it by
// itself.
type Plugin struct {
	MeshToken   string
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
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	if m.Certificate.Password {
		config := root.AppendNewBlock("config", []string{PasswordConfig, "string"}).Body()
		config.SetAttributeValue("description", cty.StringVal("Encrypts the exported root key (ristioctl's Certificate had password: true). Set it with `pulumi config set --secret "+PasswordConfig+"`."))
		root.AppendNewline()
	}
	version := sharedVersion(m.Clusters)
	allHello := len(m.Clusters) > 0
	for _, c := range m.Clusters {
		allHello = allHello && c.InstallHelloWorld
	}

	mesh := root.AppendNewBlock("resource", []string{"mesh", plugin.MeshToken}).Body()
	mesh.SetAttributeValue("meshId", cty.StringVal(m.MeshID))
	if version != "" {
		mesh.SetAttributeValue("istioVersion", cty.StringVal(version))
	}
	if allHello {
		mesh.SetAttributeValue("installHelloWorld", cty.True)
	}
	mesh.SetAttributeRaw("certificate", certificate(m.Certificate, adopt))
	clusters := make([]hclwrite.Tokens, 0, len(m.Clusters))
	for _, c := range m.Clusters {
		var attrs object
		attrs.value("name", cty.StringVal(c.Name))
		if c.KubeconfigFile != "" {
			attrs.value("kubeconfigFile", cty.StringVal(c.KubeconfigFile))
		}
		if c.Context != "" {
			attrs.value("context", cty.StringVal(c.Context))
		}
		if version == "" && c.Version != "" {
			attrs.value("istioVersion", cty.StringVal(c.Version))
		}
		if !allHello && c.InstallHelloWorld {
			attrs.value("installHelloWorld", cty.True)
		}
		attrs.value("istiodValues", meshConfig(adopt != nil))
		if adopt != nil {
			attrs.value("adopt", cty.True)
		}
		clusters = append(clusters, hclwrite.TokensForObject(attrs))
	}
	mesh.SetAttributeRaw("clusters", hclwrite.TokensForTuple(clusters))
	options := mesh.AppendNewBlock("options", nil).Body()
	options.SetAttributeValue("version", cty.StringVal(plugin.Version))
	options.SetAttributeValue("pluginDownloadURL", cty.StringVal(plugin.DownloadURL))
	root.AppendNewline()

	output := root.AppendNewBlock("output", []string{"gatewayAddresses"}).Body()
	output.SetAttributeTraversal("value", hcl.Traversal{hcl.TraverseRoot{Name: "mesh"}, hcl.TraverseAttr{Name: "gatewayAddresses"}})
	return string(hclwrite.Format(f.Bytes()))
}

// certificate is the mesh's certificate input: step's ECDSA keys, ristioctl's
// validity and SAN suffix, and with adoption the root read from its files.
func certificate(c Certificate, adopt *Adoption) hclwrite.Tokens {
	var attrs object
	attrs.value("keyType", cty.StringVal("ECDSA"))
	if c.ValidityHours > 0 {
		attrs.value("validityHours", cty.NumberIntVal(int64(c.ValidityHours)))
	}
	if c.SanSuffix != "" {
		attrs.value("sanSuffix", cty.StringVal(c.SanSuffix))
	}
	if c.Password {
		attrs.raw("password", hclwrite.TokensForFunctionCall("secret", hclwrite.TokensForIdentifier(PasswordConfig)))
	}
	if adopt != nil {
		attrs.raw("rootCertPem", readFile(adopt.RootCertFile))
		attrs.raw("rootKeyPem", hclwrite.TokensForFunctionCall("secret", readFile(adopt.RootKeyFile)))
	}
	return hclwrite.TokensForObject(attrs)
}

// readFile is PCL's readFile(path).
func readFile(path string) hclwrite.Tokens {
	return hclwrite.TokensForFunctionCall("readFile", hclwrite.TokensForValue(cty.StringVal(path)))
}

// object is an HCL object's attributes in the order they are written.
type object []hclwrite.ObjectAttrTokens

func (o *object) value(name string, v cty.Value) { o.raw(name, hclwrite.TokensForValue(v)) }

func (o *object) raw(name string, v hclwrite.Tokens) {
	*o = append(*o, hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForIdentifier(name), Value: v})
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

// meshConfig is ristioctl's mesh config as a cluster's istiodValues.
func meshConfig(exact bool) cty.Value {
	on := "true"
	if exact {
		on = ristioctlTrue
	}
	return cty.ObjectVal(map[string]cty.Value{
		"meshConfig": cty.ObjectVal(map[string]cty.Value{
			"enablePrometheusMerge": cty.False,
			"defaultConfig": cty.ObjectVal(map[string]cty.Value{
				"proxyMetadata": cty.ObjectVal(map[string]cty.Value{
					dnsCapture:  cty.StringVal(on),
					dnsAllocate: cty.StringVal(on),
				}),
			}),
		}),
	})
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
