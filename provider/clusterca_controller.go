package provider

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

var (
	_ infer.CustomResource[ClusterCAArgs, ClusterCAState]       = (*ClusterCA)(nil)
	_ infer.CustomCheck[ClusterCAArgs]                          = (*ClusterCA)(nil)
	_ infer.CustomDiff[ClusterCAArgs, ClusterCAState]           = (*ClusterCA)(nil)
	_ infer.ExplicitDependencies[ClusterCAArgs, ClusterCAState] = (*ClusterCA)(nil)
)

// renewFraction is the share of an intermediate's life after which it is
// reissued when renewBeforeHours is not set.
const renewFraction = 0.8

// Check validates the cluster name and the certificate settings.
func (r *ClusterCA) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[ClusterCAArgs], error) {
	return checkInputs(ctx, req, func(args ClusterCAArgs, old *ClusterCAArgs) (failures []p.CheckFailure) {
		if err := naming.ValidateDNSLabel(args.Cluster); err != nil {
			failures = append(failures, p.CheckFailure{Property: "cluster", Reason: fmt.Sprintf("cluster name %v", err)})
		}
		failures = append(failures, checkCertificate("", args.certificate(), r.deps.Now())...)
		if h := deref(args.RenewBeforeHours); h < 0 {
			failures = append(failures, p.CheckFailure{Property: "renewBeforeHours", Reason: fmt.Sprintf("cluster %q: renewBeforeHours must not be negative, got %d", args.Cluster, h)})
		}
		// Refused here, before an intermediate is reissued from the new root.
		if old != nil {
			var newTrusted []byte
			if !anyComputed(req.NewInputs.Get("rootCertPem")) && !anyComputed(req.NewInputs.Get("trustedRootCertPems")) {
				newTrusted = trustBundle(args.RootCertPEM, args.TrustedRootCertPEMs)
			}
			err := signerChange([]byte(old.RootCertPEM), trustBundle(old.RootCertPEM, old.TrustedRootCertPEMs), knownPEM(req.NewInputs, "rootCertPem", args.RootCertPEM), newTrusted)
			if err != nil {
				failures = append(failures, p.CheckFailure{Property: "rootCertPem", Reason: fmt.Sprintf("cluster %q: %v", args.Cluster, err)})
			}
		}
		return failures
	})
}

func (a ClusterCAArgs) certificate() CertificateArgs {
	return CertificateArgs{ValidityHours: a.ValidityHours, KeyType: a.KeyType, RSABits: a.RSABits, SanSuffix: a.SanSuffix}
}

// Diff replaces the intermediate when its root, subject or key settings
// change, or when it is due for renewal. A re-encrypted root key or a new
// renewal window is an update of state only.
func (r *ClusterCA) Diff(ctx context.Context, req infer.DiffRequest[ClusterCAArgs, ClusterCAState]) (infer.DiffResponse, error) {
	diff := diffInputs(req.State.ClusterCAArgs, req.Inputs)
	if req.State.CertPEM != "" {
		due, err := r.renewalDue(req.State, req.Inputs.RenewBeforeHours)
		if err != nil {
			return infer.DiffResponse{}, err
		}
		if due {
			p.GetLogger(ctx).Warningf("cluster %s: intermediate CA expires %s and is due for renewal: `pulumi up` reissues it from the signing root", req.State.Cluster, req.State.NotAfter)
			diff["notAfter"] = p.PropertyDiff{Kind: p.UpdateReplace}
		}
	}
	return diffResponse(diff), nil
}

// renewalDue judges the issued intermediate against the renewal window of
// the new inputs: a wider window takes effect in the same preview.
func (r *ClusterCA) renewalDue(s ClusterCAState, renewBeforeHours *int) (bool, error) {
	block, _ := pem.Decode([]byte(s.CertPEM))
	if block == nil {
		return false, wrapCluster(s.Cluster, errors.New("state holds no intermediate certificate"))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false, wrapCluster(s.Cluster, fmt.Errorf("parsing intermediate certificate: %w", err))
	}
	return r.due(cert, renewBeforeHours), nil
}

// due says whether an intermediate is within its renewal window.
func (r *ClusterCA) due(cert *x509.Certificate, renewBeforeHours *int) bool {
	before := time.Duration(deref(renewBeforeHours)) * time.Hour
	fraction := 0.0
	if before == 0 {
		fraction = renewFraction
	}
	return pki.NeedsRenewal(cert, r.deps.Now(), before, fraction)
}

// adopt keeps the intermediate of the live cacerts that ristioctl (or anyone
// but ristio) wrote, when the mesh root issued it and it is not due for
// renewal: it is what the cluster's workload certificates chain to today.
// One from another root is refused, since replacing it would break mTLS
// with the other clusters; that happens at the start of up, before anything
// is written to a cluster (everything there waits for the cluster's
// cacerts). Preview, where the root is not known yet, reports what it will
// judge. It returns nil to issue a new intermediate.
func (r *ClusterCA) adopt(ctx context.Context, in ClusterCAArgs, preview bool) (*ClusterCAState, error) {
	logger := p.GetLogger(ctx)
	client, err := r.deps.kubeClient(*in.AdoptFrom)
	if err != nil {
		return nil, err
	}
	live, err := client.GetSecret(ctx, naming.IstioNamespace, naming.CACertsSecret)
	if err != nil {
		return nil, wrapCluster(in.Cluster, fmt.Errorf("adopt: reading secret %s/%s: %w", naming.IstioNamespace, naming.CACertsSecret, err))
	}
	if live == nil || managedByRistio(live.Labels) {
		return nil, nil
	}
	if preview || in.RootCertPEM == "" { // the root's outputs are not known in preview
		logger.Infof("cluster %s: adopt %s/%s: its intermediate is kept if the mesh root issued it (checked first thing in up)", in.Cluster, naming.IstioNamespace, naming.CACertsSecret)
		return nil, nil
	}
	kept, cert, err := pki.AdoptCACerts(live.Data, []byte(in.RootCertPEM), r.deps.Now())
	if err != nil {
		return nil, wrapCluster(in.Cluster, fmt.Errorf("adopt %s/%s: %w; set certificate.rootCertPem and rootKeyPem to the root that issued it (ristioctl's root-cert.pem and root-key.pem)", naming.IstioNamespace, naming.CACertsSecret, err))
	}
	if r.due(cert, in.RenewBeforeHours) {
		logger.Warningf("cluster %s: adopt %s/%s: its intermediate expires %s and is due for renewal; issuing a new one from the mesh root", in.Cluster, naming.IstioNamespace, naming.CACertsSecret, cert.NotAfter.UTC().Format(time.RFC3339))
		return nil, nil
	}
	logger.Infof("cluster %s: adopt %s/%s: keeping intermediate %q, issued by the mesh root, valid until %s", in.Cluster, naming.IstioNamespace, naming.CACertsSecret, cert.Subject.String(), cert.NotAfter.UTC().Format(time.RFC3339))
	return &ClusterCAState{
		ClusterCAArgs: in,
		CertPEM:       string(kept.CACert),
		KeyPEM:        string(kept.CAKey),
		CertChainPEM:  string(kept.CertChain),
		NotAfter:      cert.NotAfter.UTC().Format(time.RFC3339),
	}, nil
}

// Create signs a new intermediate for the cluster.
func (r *ClusterCA) Create(ctx context.Context, req infer.CreateRequest[ClusterCAArgs]) (infer.CreateResponse[ClusterCAState], error) {
	in := req.Inputs
	state := ClusterCAState{ClusterCAArgs: in}
	if in.AdoptFrom != nil {
		kept, err := r.adopt(ctx, in, req.DryRun)
		if err != nil {
			return infer.CreateResponse[ClusterCAState]{}, err
		}
		if kept != nil {
			return infer.CreateResponse[ClusterCAState]{ID: req.Name, Output: *kept}, nil
		}
	}
	if req.DryRun {
		return infer.CreateResponse[ClusterCAState]{ID: req.Name, Output: state}, nil
	}
	root, err := pki.ParseCA([]byte(in.RootCertPEM), []byte(in.RootKeyPEM), []byte(deref(in.RootKeyPassword)))
	if err != nil {
		return infer.CreateResponse[ClusterCAState]{}, wrapCluster(in.Cluster, fmt.Errorf("reading root CA: %w", err))
	}
	cert := in.certificate()
	p.GetLogger(ctx).InfoStatusf("%s: generating intermediate CA (%s)", in.Cluster, describeKey(cert))
	now := r.deps.Now()
	ca, warnings, err := pki.GenerateIntermediate(root, pki.IntermediateOptions{
		Cluster: in.Cluster, Key: keySpec(cert), SANSuffix: deref(in.SanSuffix), NotBefore: now, TTL: intermediateTTL(root, now, validity(cert)),
	})
	if err != nil {
		return infer.CreateResponse[ClusterCAState]{}, err
	}
	for _, w := range warnings {
		p.GetLogger(ctx).Warning(w)
	}
	bundle := pki.BuildCACerts(ca, root)
	state.CertPEM = string(bundle.CACert)
	state.KeyPEM = string(bundle.CAKey)
	state.CertChainPEM = string(bundle.CertChain)
	state.NotAfter = ca.Cert.NotAfter.UTC().Format(time.RFC3339)
	return infer.CreateResponse[ClusterCAState]{ID: req.Name, Output: state}, nil
}

// clampSlack is how far past the root an intermediate may be asked to reach
// before ristio warns: a root and intermediates made in the same run with the
// same validityHours differ by seconds, and clamping that is not news.
const clampSlack = 24 * time.Hour

func intermediateTTL(root *pki.CA, now time.Time, ttl time.Duration) time.Duration {
	over := now.Add(ttl).Sub(root.Cert.NotAfter)
	if over > 0 && over < clampSlack {
		return root.Cert.NotAfter.Sub(now)
	}
	return ttl
}

// WireDependencies keeps the generated key secret in state and outputs.
func (r *ClusterCA) WireDependencies(f infer.FieldSelector, _ *ClusterCAArgs, state *ClusterCAState) {
	f.OutputField(&state.KeyPEM).AlwaysSecret()
}

// Update takes new inputs that need no new intermediate (see Diff).
func (r *ClusterCA) Update(_ context.Context, req infer.UpdateRequest[ClusterCAArgs, ClusterCAState]) (infer.UpdateResponse[ClusterCAState], error) {
	state := req.State
	state.ClusterCAArgs = req.Inputs
	return infer.UpdateResponse[ClusterCAState]{Output: state}, nil
}
