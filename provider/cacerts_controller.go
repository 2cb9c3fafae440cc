package provider

import (
	"context"
	"fmt"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

var (
	_ infer.CustomResource[CACertsArgs, CACertsState] = (*CACerts)(nil)
	_ infer.CustomCheck[CACertsArgs]                  = (*CACerts)(nil)
	_ infer.CustomDiff[CACertsArgs, CACertsState]     = (*CACerts)(nil)
	_ infer.CustomUpdate[CACertsArgs, CACertsState]   = (*CACerts)(nil)
	_ infer.CustomRead[CACertsArgs, CACertsState]     = (*CACerts)(nil)
	_ infer.CustomDelete[CACertsState]                = (*CACerts)(nil)
)

// Check validates the connection.
func (r *CACerts) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CACertsArgs], error) {
	return checkInputs(ctx, req, func(args CACertsArgs, old *CACertsArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		if len(args.ExtraRootCertPEMs) > 0 && !req.NewInputs.Get("rootCertPem").IsComputed() && !anyComputed(req.NewInputs.Get("extraRootCertPems")) {
			extras := make([][]byte, len(args.ExtraRootCertPEMs))
			for i, e := range args.ExtraRootCertPEMs {
				extras[i] = []byte(e)
			}
			if _, err := pki.BuildTrustBundle([]byte(args.RootCertPEM), extras...); err != nil {
				failures = append(failures, p.CheckFailure{Property: "extraRootCertPems", Reason: fmt.Sprintf("cluster %q: %v", args.Cluster.Name, err)})
			}
		}
		if old != nil {
			var newTrusted []byte
			if !anyComputed(req.NewInputs.Get("extraRootCertPems")) {
				newTrusted = args.data()[pki.RootCertFile]
			}
			err := signerChange([]byte(old.RootCertPEM), old.data()[pki.RootCertFile], knownPEM(req.NewInputs, "rootCertPem", args.RootCertPEM), newTrusted)
			if err != nil {
				failures = append(failures, p.CheckFailure{Property: "rootCertPem", Reason: fmt.Sprintf("cluster %q: %v", args.Cluster.Name, err)})
			} else if f := r.rootDrop(ctx, req.NewInputs, args, old.data()[pki.RootCertFile]); f != nil {
				failures = append(failures, *f)
			}
		}
		if old == nil && deref(args.Adopt) && len(failures) == 0 {
			r.warnAdoptionDrops(ctx, req.NewInputs, args)
		}
		return failures
	})
}

// signerChange refuses to move a cluster to another signing root in a way
// that breaks mTLS with clusters not yet moved (see pki.CheckSignerChange).
// The trust bundles are root-cert.pem before and after; signer and bundle
// are nil when not known yet (preview), and a signer not known yet can only
// be a root made in this very update.
func signerChange(oldSigner, oldTrusted, newSigner, newTrusted []byte) error {
	if err := pki.CheckSignerChange(oldSigner, oldTrusted, newSigner, newTrusted); err != nil {
		return fmt.Errorf("certificate.roots: %w; replacing the signing root in one step breaks mTLS between clusters. %s", err, pki.RotationSteps)
	}
	return nil
}

// knownPEM returns the bytes of a string input, or nil while it is unknown.
func knownPEM(raw property.Map, key, value string) []byte {
	if raw.Get(key).IsComputed() {
		return nil
	}
	return []byte(value)
}

// anyComputed says whether a value, or an element of an array value, is not
// known yet.
func anyComputed(v property.Value) bool {
	if v.IsComputed() {
		return true
	}
	if !v.IsArray() {
		return false
	}
	for _, e := range v.AsArray().All {
		if e.IsComputed() {
			return true
		}
	}
	return false
}

// data is the secret's contents, in Istio's file names.
func (a CACertsArgs) data() map[string][]byte {
	return map[string][]byte{
		pki.CACertFile:    []byte(a.CACertPEM),
		pki.CAKeyFile:     []byte(a.CAKeyPEM),
		pki.RootCertFile:  trustBundle(a.RootCertPEM, a.ExtraRootCertPEMs),
		pki.CertChainFile: []byte(a.CertChainPEM),
	}
}

// trustBundle is root-cert.pem: the signing root, then the others, in order.
func trustBundle(signer string, others []string) []byte {
	var b strings.Builder
	for _, pem := range append([]string{signer}, others...) {
		b.WriteString(strings.TrimRight(pem, "\n") + "\n")
	}
	return []byte(b.String())
}

// caCertsClient is what CACerts asks of its cluster.
type caCertsClient interface {
	namespaceClient
	secretClient
}

// newCACerts builds the resource; its Diff updates in place, replaces when
// the cluster changes, and repairs drift found by refresh.
func newCACerts(deps Deps) *CACerts {
	return &CACerts{deps: deps, clusterResource: clusterResource[CACertsArgs, CACertsState, caCertsClient]{
		connect: connectKube[caCertsClient](deps), claims: deps,
		takeover: func(CACertsArgs, *CACertsState) takeover { return caCertsTakeover },
		drift: func(s CACertsState) map[string]bool {
			return map[string]bool{"checksum": s.Checksum != checksum(s.data())}
		},
		apply: applyCACerts, read: readCACerts, remove: removeCACerts,
	}}
}

// caCertsTakeover is what CACerts writes.
var caCertsTakeover = takeover{objects: []objectRef{{secretGVK, naming.IstioNamespace, naming.CACertsSecret}}}

// applyCACerts writes the secret, creating istio-system when missing; it
// has touched the cluster once it made the namespace.
func applyCACerts(ctx context.Context, client caCertsClient, w writer, in CACertsArgs, _ *CACertsState) (CACertsState, bool, error) {
	state := CACertsState{CACertsArgs: in}
	p.GetLogger(ctx).InfoStatusf("%s: writing %s/%s", in.Cluster.Name, naming.IstioNamespace, naming.CACertsSecret)
	ns, err := client.Get(ctx, namespaceGVK, "", naming.IstioNamespace)
	if err != nil {
		return state, false, fmt.Errorf("reading namespace %s: %w", naming.IstioNamespace, err)
	}
	// Only create the namespace: its labels belong to the control plane, which
	// applies them with the same field manager.
	if ns == nil {
		if err := client.EnsureNamespace(ctx, naming.IstioNamespace, nil); err != nil {
			return state, false, err
		}
	}
	created := ns == nil
	if err := claim(ctx, client, w, caCertsTakeover.objects[0], deref(in.Adopt)); err != nil {
		return state, created, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: naming.CACertsSecret, Namespace: naming.IstioNamespace,
			Labels: naming.ManagedLabels(), Annotations: w.annotations(),
		},
		Type: corev1.SecretTypeOpaque,
		Data: in.data(),
	}
	if err := client.ApplySecret(ctx, secret); err != nil {
		return state, created, fmt.Errorf("writing secret %s/%s: %w", naming.IstioNamespace, naming.CACertsSecret, err)
	}
	state.Checksum = checksum(in.data())
	return state, true, nil
}

// readCACerts fingerprints the live secret; an empty checksum means it is gone.
func readCACerts(ctx context.Context, client caCertsClient, state CACertsState) (CACertsState, error) {
	live, err := client.GetSecret(ctx, naming.IstioNamespace, naming.CACertsSecret)
	if err != nil {
		return state, fmt.Errorf("reading secret %s/%s: %w", naming.IstioNamespace, naming.CACertsSecret, err)
	}
	state.Checksum = ""
	if live != nil {
		state.Checksum = checksum(ownKeys(live.Data, state.data()))
	}
	return state, nil
}

// removeCACerts removes the secret, and istio-system when ristio created it
// and nothing else lives there.
func removeCACerts(ctx context.Context, client caCertsClient, w writer, s CACertsState) error {
	if err := deleteManaged(ctx, client, w, secretGVK, naming.IstioNamespace, naming.CACertsSecret); err != nil {
		return err
	}
	return deleteNamespaceIfOurs(ctx, client, s.Cluster.Name, naming.IstioNamespace, istioNamespaceUse(ctx, client))
}
