package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/pki"
)

var (
	_ infer.CustomResource[CertificateArgs, RootCAState]       = (*RootCA)(nil)
	_ infer.CustomCheck[CertificateArgs]                       = (*RootCA)(nil)
	_ infer.ExplicitDependencies[CertificateArgs, RootCAState] = (*RootCA)(nil)
)

// Check validates the certificate settings, and a supplied root, before anything is generated.
func (r *RootCA) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CertificateArgs], error) {
	args, failures, err := infer.DefaultCheck[CertificateArgs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[CertificateArgs]{Inputs: args, Failures: failures}, err
	}
	checked := args
	for _, k := range []string{"rootCertPem", "rootKeyPem", "password"} {
		if req.NewInputs.Get(k).IsComputed() {
			// A supplied root not known yet (preview) is checked when it is.
			checked.RootCertPem, checked.RootKeyPem = nil, nil
		}
	}
	failures = checkCertificate("", checked, r.deps.Now())
	return infer.CheckResponse[CertificateArgs]{Inputs: args, Failures: failures}, nil
}

// checkCertificate returns one failure per bad field; prefix is where the
// certificate sits in the caller's inputs ("" or "certificate.").
func checkCertificate(prefix string, c CertificateArgs, now time.Time) []p.CheckFailure {
	var failures []p.CheckFailure
	fail := func(field, format string, a ...any) {
		failures = append(failures, p.CheckFailure{Property: prefix + field, Reason: fmt.Sprintf(format, a...)})
	}
	if v := deref(c.ValidityHours); c.ValidityHours != nil && v <= 0 {
		fail("validityHours", "validityHours must be positive, got %d", v)
	}
	switch kt := strings.ToUpper(deref(c.KeyType)); kt {
	case "", "RSA":
		if b := deref(c.RsaBits); c.RsaBits != nil && b != 2048 && b != 3072 && b != 4096 {
			fail("rsaBits", "rsaBits must be 2048, 3072 or 4096, got %d", b)
		}
	case "ECDSA":
	default:
		fail("keyType", "keyType must be RSA or ECDSA, got %q", deref(c.KeyType))
	}
	hasCert, hasKey := deref(c.RootCertPem) != "", deref(c.RootKeyPem) != ""
	switch {
	case hasCert && !hasKey:
		fail("rootKeyPem", "rootCertPem is set but rootKeyPem is not: bring both halves of the root, or neither")
	case hasKey && !hasCert:
		fail("rootCertPem", "rootKeyPem is set but rootCertPem is not: bring both halves of the root, or neither")
	case hasCert && hasKey:
		if _, err := loadSuppliedRoot(c, now); err != nil {
			fail("rootCertPem", "supplied root rejected: %v", err)
		}
	}
	return failures
}

func loadSuppliedRoot(c CertificateArgs, now time.Time) (*pki.CA, error) {
	root, err := pki.ParseCA([]byte(deref(c.RootCertPem)), []byte(deref(c.RootKeyPem)), []byte(deref(c.Password)))
	if err != nil {
		return nil, err
	}
	if err := pki.ValidateRoot(root, now, minRootHours*time.Hour); err != nil {
		return nil, err
	}
	return root, nil
}

func keySpec(c CertificateArgs) pki.KeySpec {
	if strings.ToUpper(deref(c.KeyType)) == "ECDSA" {
		return pki.KeySpec{Type: pki.ECDSA}
	}
	return pki.KeySpec{Type: pki.RSA, RSABits: deref(c.RsaBits)}
}

func validity(c CertificateArgs) time.Duration {
	if c.ValidityHours == nil {
		return defaultValidityHours * time.Hour
	}
	return time.Duration(*c.ValidityHours) * time.Hour
}

// Create generates the root, or adopts the supplied one.
func (r *RootCA) Create(ctx context.Context, req infer.CreateRequest[CertificateArgs]) (infer.CreateResponse[RootCAState], error) {
	state := RootCAState{CertificateArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[RootCAState]{ID: req.Name, Output: state}, nil
	}
	now := r.deps.Now()
	var root *pki.CA
	var err error
	if deref(req.Inputs.RootCertPem) != "" {
		root, err = loadSuppliedRoot(req.Inputs, now)
	} else {
		p.GetLogger(ctx).InfoStatusf("generating root CA (%s)", describeKey(req.Inputs))
		root, err = pki.GenerateRoot(pki.RootOptions{
			Key: keySpec(req.Inputs), SANSuffix: deref(req.Inputs.SanSuffix), NotBefore: now, TTL: validity(req.Inputs),
		})
	}
	if err != nil {
		return infer.CreateResponse[RootCAState]{}, fmt.Errorf("root CA: %w", err)
	}
	state.CertPem = string(root.CertPEM)
	state.KeyPem = string(root.KeyPEM)
	if pw := deref(req.Inputs.Password); pw != "" {
		enc, err := pki.EncryptKey(root.Key, []byte(pw))
		if err != nil {
			return infer.CreateResponse[RootCAState]{}, fmt.Errorf("root CA: encrypting key: %w", err)
		}
		state.KeyPem = string(enc)
	}
	state.NotAfter = root.Cert.NotAfter.UTC().Format(time.RFC3339)
	return infer.CreateResponse[RootCAState]{ID: req.Name, Output: state}, nil
}

func describeKey(c CertificateArgs) string {
	k := keySpec(c)
	if k.Type == pki.RSA {
		return fmt.Sprintf("RSA-%d", k.RSABits)
	}
	return "ECDSA"
}

// WireDependencies keeps the generated key secret in state and outputs.
func (r *RootCA) WireDependencies(f infer.FieldSelector, _ *CertificateArgs, state *RootCAState) {
	f.OutputField(&state.KeyPem).AlwaysSecret()
}

// Diff replaces the root on any change but the password, which only decides
// how the exported key is encrypted: a new root re-roots the whole mesh.
func (r *RootCA) Diff(_ context.Context, req infer.DiffRequest[CertificateArgs, RootCAState]) (infer.DiffResponse, error) {
	replace := func(field string) bool { return field != "password" }
	return diffResponse(diffInputs(req.State.CertificateArgs, req.Inputs, replace)), nil
}

// Update re-encrypts the exported key for a new password; the root stays.
func (r *RootCA) Update(_ context.Context, req infer.UpdateRequest[CertificateArgs, RootCAState]) (infer.UpdateResponse[RootCAState], error) {
	state := req.State
	state.CertificateArgs = req.Inputs
	if req.DryRun {
		return infer.UpdateResponse[RootCAState]{Output: state}, nil
	}
	root, err := pki.ParseCA([]byte(req.State.CertPem), []byte(req.State.KeyPem), []byte(deref(req.State.Password)))
	if err != nil {
		return infer.UpdateResponse[RootCAState]{}, fmt.Errorf("root CA: reading the key with the previous password: %w", err)
	}
	state.KeyPem = string(root.KeyPEM)
	if pw := deref(req.Inputs.Password); pw != "" {
		enc, err := pki.EncryptKey(root.Key, []byte(pw))
		if err != nil {
			return infer.UpdateResponse[RootCAState]{}, fmt.Errorf("root CA: encrypting key: %w", err)
		}
		state.KeyPem = string(enc)
	}
	return infer.UpdateResponse[RootCAState]{Output: state}, nil
}
