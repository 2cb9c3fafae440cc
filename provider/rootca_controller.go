package provider

import (
	"context"
	"encoding/pem"
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
	_ infer.CustomDiff[CertificateArgs, RootCAState]           = (*RootCA)(nil)
	_ infer.CustomUpdate[CertificateArgs, RootCAState]         = (*RootCA)(nil)
)

// Check validates the certificate settings, and a supplied root, before
// anything is generated. It refuses any change that would replace an
// existing root: clusters that trust it, and workloads holding certificates
// it signed, would be cut off at once. Roots are rotated, not edited.
func (r *RootCA) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CertificateArgs], error) {
	return checkInputs(ctx, req, func(args CertificateArgs, old *CertificateArgs) (failures []p.CheckFailure) {
		checked := args
		for _, k := range []string{"rootCertPem", "rootKeyPem", "password"} {
			if req.NewInputs.Get(k).IsComputed() {
				// A supplied root not known yet (preview) is checked when it is.
				checked.RootCertPEM, checked.RootKeyPEM = nil, nil
			}
		}
		failures = checkCertificate("", checked, r.deps.Now())
		if len(failures) == 0 && old != nil && !req.NewInputs.Get("rootCertPem").IsComputed() {
			if field := rootReplacedBy(*old, args); field != "" {
				failures = append(failures, p.CheckFailure{Property: field, Reason: fmt.Sprintf(
					"root %q cannot change in place: a new %s means a new root, and every cluster would stop trusting the certificates the old one signed. Keep this entry as it is and %s",
					rootEntryName(req.Name), field, pki.RotationSteps)})
			}
		}
		return failures
	})
}

// rootReplacedBy names the input whose change makes old and new different
// roots, or "". A brought root is its certificate (adding or re-encrypting its
// key keeps it); a generated root is its key and validity. The password and
// sanSuffix never make a new root.
func rootReplacedBy(old, new CertificateArgs) string {
	oldCert, newCert := deref(old.RootCertPEM), deref(new.RootCertPEM)
	switch {
	case oldCert != "" || newCert != "":
		if !pki.SameCertificates([]byte(oldCert), []byte(newCert)) {
			return "rootCertPem"
		}
		return ""
	case !strings.EqualFold(deref(old.KeyType), deref(new.KeyType)):
		return "keyType"
	case keySpec(old) != keySpec(new):
		return "rsaBits"
	case validity(old) != validity(new):
		return "validityHours"
	}
	return ""
}

// rootEntryName is the certificate.roots entry a RootCA resource stands for.
func rootEntryName(resource string) string {
	if _, name, ok := strings.Cut(resource, rootCASuffix+"-"); ok {
		return name
	}
	return defaultRootName
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
		if b := deref(c.RSABits); c.RSABits != nil && b != 2048 && b != 3072 && b != 4096 {
			fail("rsaBits", "rsaBits must be 2048, 3072 or 4096, got %d", b)
		}
	case "ECDSA":
	default:
		fail("keyType", "keyType must be RSA or ECDSA, got %q", deref(c.KeyType))
	}
	hasCert, hasKey := deref(c.RootCertPEM) != "", deref(c.RootKeyPEM) != ""
	switch {
	case hasCert && !hasKey:
		// A root that is only trusted: it signs nothing, so needs no key.
		if _, err := pki.ParseTrustedRoot([]byte(deref(c.RootCertPEM)), now); err != nil {
			fail("rootCertPem", "supplied root rejected: %v", err)
		}
	case hasKey && !hasCert:
		fail("rootCertPem", "rootKeyPem is set but rootCertPem is not: bring the root's certificate with its key")
	case hasCert && hasKey:
		if _, err := loadSuppliedRoot(c, now); err != nil {
			fail("rootCertPem", "supplied root rejected: %v", err)
		}
	}
	return failures
}

func loadSuppliedRoot(c CertificateArgs, now time.Time) (*pki.CA, error) {
	root, err := pki.ParseCA([]byte(deref(c.RootCertPEM)), []byte(deref(c.RootKeyPEM)), []byte(deref(c.Password)))
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
	return pki.KeySpec{Type: pki.RSA, RSABits: deref(c.RSABits)}
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
		// A brought root is known now: what reads it (an adoption's
		// comparison with the live roots) can say so in preview.
		state.CertPEM = broughtCertPEM(req.Inputs)
		return infer.CreateResponse[RootCAState]{ID: req.Name, Output: state}, nil
	}
	now := r.deps.Now()
	var root *pki.CA
	var err error
	switch {
	case deref(req.Inputs.RootCertPEM) != "" && deref(req.Inputs.RootKeyPEM) == "":
		cert, err := pki.ParseTrustedRoot([]byte(*req.Inputs.RootCertPEM), now)
		if err != nil {
			return infer.CreateResponse[RootCAState]{}, fmt.Errorf("root CA: %w", err)
		}
		state.CertPEM = *req.Inputs.RootCertPEM
		state.NotAfter = cert.NotAfter.UTC().Format(time.RFC3339)
		return infer.CreateResponse[RootCAState]{ID: req.Name, Output: state}, nil
	case deref(req.Inputs.RootCertPEM) != "":
		root, err = loadSuppliedRoot(req.Inputs, now)
	default:
		p.GetLogger(ctx).InfoStatusf("generating root CA (%s)", describeKey(req.Inputs))
		root, err = pki.GenerateRoot(pki.RootOptions{
			Key: keySpec(req.Inputs), SANSuffix: deref(req.Inputs.SanSuffix), NotBefore: now, TTL: validity(req.Inputs),
		})
	}
	if err != nil {
		return infer.CreateResponse[RootCAState]{}, fmt.Errorf("root CA: %w", err)
	}
	if err := state.hold(root, req.Inputs.Password); err != nil {
		return infer.CreateResponse[RootCAState]{}, err
	}
	return infer.CreateResponse[RootCAState]{ID: req.Name, Output: state}, nil
}

// broughtCertPEM is the certificate Create records for a brought root, ""
// for a generated one or one that cannot be read (Create says why): a trusted
// root as given, a signing root re-encoded as ParseCA does.
func broughtCertPEM(in CertificateArgs) string {
	given := deref(in.RootCertPEM)
	if given == "" || deref(in.RootKeyPEM) == "" {
		return given
	}
	certs, err := pki.Certificates([]byte(given))
	if err != nil || len(certs) != 1 {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}))
}

// hold records root in the state, its key encrypted with password when set.
func (s *RootCAState) hold(root *pki.CA, password *string) error {
	s.CertPEM = string(root.CertPEM)
	s.KeyPEM = string(root.KeyPEM)
	if pw := deref(password); pw != "" {
		enc, err := pki.EncryptKey(root.Key, []byte(pw))
		if err != nil {
			return fmt.Errorf("root CA: encrypting key: %w", err)
		}
		s.KeyPEM = string(enc)
	}
	s.NotAfter = root.Cert.NotAfter.UTC().Format(time.RFC3339)
	return nil
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
	f.OutputField(&state.KeyPEM).AlwaysSecret()
}

// Diff replaces the root only when it becomes another root (see
// rootReplacedBy; Check refuses that for an existing root). Anything else,
// such as a new password, a key given for a brought root or a new sanSuffix
// (which only roots made later carry), updates the state in place.
func (r *RootCA) Diff(_ context.Context, req infer.DiffRequest[CertificateArgs, RootCAState]) (infer.DiffResponse, error) {
	diff := diffInputs(req.State.CertificateArgs, req.Inputs)
	if field := rootReplacedBy(req.State.CertificateArgs, req.Inputs); field != "" {
		diff[field] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	return diffResponse(diff), nil
}

// Update keeps the root: it re-encrypts the exported key for a new password,
// or takes the key of a brought root that was only trusted so far.
func (r *RootCA) Update(_ context.Context, req infer.UpdateRequest[CertificateArgs, RootCAState]) (infer.UpdateResponse[RootCAState], error) {
	state := req.State
	state.CertificateArgs = req.Inputs
	if req.DryRun {
		return infer.UpdateResponse[RootCAState]{Output: state}, nil
	}
	var root *pki.CA
	var err error
	switch {
	case deref(req.Inputs.RootKeyPEM) != "":
		root, err = loadSuppliedRoot(req.Inputs, r.deps.Now())
	case req.State.KeyPEM != "":
		root, err = pki.ParseCA([]byte(req.State.CertPEM), []byte(req.State.KeyPEM), []byte(deref(req.State.Password)))
		if err != nil {
			err = fmt.Errorf("reading the key with the previous password: %w", err)
		}
	default: // a trusted root without a key stays one
		return infer.UpdateResponse[RootCAState]{Output: state}, nil
	}
	if err != nil {
		return infer.UpdateResponse[RootCAState]{}, fmt.Errorf("root CA: %w", err)
	}
	if err := state.hold(root, req.Inputs.Password); err != nil {
		return infer.UpdateResponse[RootCAState]{}, err
	}
	return infer.UpdateResponse[RootCAState]{Output: state}, nil
}
