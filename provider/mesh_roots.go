package provider

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

const (
	// defaultRootName is the root the shorthand fields of certificate describe.
	defaultRootName = "default"
	// rootCASuffix names RootCA resources: <mesh>-root-ca for the default
	// root, as before roots existed, and <mesh>-root-ca-<name> for the others.
	rootCASuffix = "-root-ca"
)

// rootCAName is the resource name of a mesh's root entry.
func rootCAName(mesh, entry string) string {
	if entry == defaultRootName {
		return mesh + rootCASuffix
	}
	return mesh + rootCASuffix + "-" + entry
}

// rootEntries returns the mesh's roots, signer first: certificate.roots, or
// the one root the shorthand fields describe.
func rootEntries(c *MeshCertificate) []MeshRoot {
	if c == nil {
		return []MeshRoot{{Name: defaultRootName}}
	}
	if c.Roots != nil {
		return c.Roots
	}
	return []MeshRoot{{
		Name: defaultRootName, ValidityHours: c.ValidityHours, KeyType: c.KeyType, RSABits: c.RSABits,
		RootCertPEM: c.RootCertPEM, RootKeyPEM: c.RootKeyPEM,
	}}
}

// settings are the entry's key and validity, which also shape the
// intermediates it signs.
func (r MeshRoot) settings() CertificateArgs {
	return CertificateArgs{ValidityHours: r.ValidityHours, KeyType: r.KeyType, RSABits: r.RSABits}
}

// keyPassword decrypts the entry's brought key, and encrypts the key the
// RootCA exports: the entry's own password, else the mesh's.
func (r MeshRoot) keyPassword(c *MeshCertificate) pulumi.StringInput {
	if r.Password != nil || c == nil {
		return r.Password
	}
	return c.Password
}

// validateCertificate adds the problems of the certificate input: the
// shorthand and roots are exclusive, roots are named once each, and the
// first root can sign.
func validateCertificate(problems *meshProblems, c *MeshCertificate, now time.Time) {
	if c == nil {
		return
	}
	if c.Roots == nil {
		for _, f := range checkCertificate("certificate.", CertificateArgs{ValidityHours: c.ValidityHours, KeyType: c.KeyType, RSABits: c.RSABits}, now) {
			problems.add(f.Property, "%s", f.Reason)
		}
		if (c.RootCertPEM == nil) != (c.RootKeyPEM == nil) {
			problems.add("certificate.rootKeyPem", "give both rootCertPem and rootKeyPem to bring your own root, or neither")
		}
	} else {
		validateRoots(problems, c, now)
	}
	if h := deref(c.RenewBeforeHours); h < 0 {
		problems.add("certificate.renewBeforeHours", "must not be negative, got %d", h)
	}
}

func validateRoots(problems *meshProblems, c *MeshCertificate, now time.Time) {
	var shorthand []string
	for name, set := range map[string]bool{
		"validityHours": c.ValidityHours != nil, "keyType": c.KeyType != nil, "rsaBits": c.RSABits != nil,
		"rootCertPem": c.RootCertPEM != nil, "rootKeyPem": c.RootKeyPEM != nil,
	} {
		if set {
			shorthand = append(shorthand, "certificate."+name)
		}
	}
	if len(shorthand) > 0 {
		slices.Sort(shorthand)
		problems.add("certificate.roots", "give the roots list or the shorthand fields (%s), not both: the shorthand is roots: [{name: %q, ...}]", strings.Join(shorthand, ", "), defaultRootName)
	}
	if len(c.Roots) == 0 {
		problems.add("certificate.roots", "must list at least one root; the first signs the intermediates")
	}
	seen := map[string]int{}
	for i, r := range c.Roots {
		field := fmt.Sprintf("certificate.roots[%d]", i)
		if r.Name != "" {
			field = fmt.Sprintf("certificate.roots[%d] (%s)", i, r.Name)
		}
		if err := naming.ValidateDNSLabel(r.Name); err != nil {
			problems.add(field+".name", "%v", err)
		}
		if j, dup := seen[r.Name]; dup {
			problems.add(field+".name", "duplicate root name %q, also certificate.roots[%d]", r.Name, j)
		} else {
			seen[r.Name] = i
		}
		for _, f := range checkCertificate(field+".", r.settings(), now) {
			problems.add(f.Property, "%s", f.Reason)
		}
		switch {
		case r.RootKeyPEM != nil && r.RootCertPEM == nil:
			problems.add(field+".rootCertPem", "rootKeyPem is set but rootCertPem is not: bring the root's certificate with its key")
		case i == 0 && r.RootCertPEM != nil && r.RootKeyPEM == nil:
			problems.add(field+".rootKeyPem", "the first root signs every cluster's intermediate, so it needs its key; a root without one can only be trusted (a later entry)")
		}
	}
}

// checkedRootCerts returns the brought roots' certificates, index by index
// ("" for generated roots), once they are known to hold no certificate twice.
// Each RootCA takes its certificate from here, so a duplicate fails before
// any root is made.
func checkedRootCerts(roots []MeshRoot) pulumi.StringArrayOutput {
	inputs := make([]any, len(roots))
	for i, r := range roots {
		inputs[i] = pulumi.String("")
		if r.RootCertPEM != nil {
			inputs[i] = r.RootCertPEM
		}
	}
	return pulumi.All(inputs...).ApplyT(func(certs []any) ([]string, error) {
		out := make([]string, len(certs))
		for i, c := range certs {
			out[i], _ = c.(string)
			for j := range i {
				if out[i] != "" && pki.SameCertificates([]byte(out[i]), []byte(out[j])) {
					return nil, fmt.Errorf("invalid MultiClusterMesh inputs: certificate.roots[%d] (%s) holds the same certificate as certificate.roots[%d] (%s)", i, roots[i].Name, j, roots[j].Name)
				}
			}
		}
		return out, nil
	}).(pulumi.StringArrayOutput)
}
