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

// Diff updates in place, replaces when the cluster changes, and repairs drift found by refresh.
func (r *CACerts) Diff(_ context.Context, req infer.DiffRequest[CACertsArgs, CACertsState]) (infer.DiffResponse, error) {
	diff := r.changes(req.State, req.Inputs)
	return diffResponse(diff), nil
}

// changes lists what differs between the state and new inputs, drift included.
func (r *CACerts) changes(state CACertsState, inputs CACertsArgs) map[string]p.PropertyDiff {
	diff := diffInputs(state.CACertsArgs, inputs)
	if state.Checksum != checksum(state.data()) {
		diff["checksum"] = p.PropertyDiff{Kind: p.Update}
	}
	return diff
}

// Create writes the secret, creating istio-system when missing.
func (r *CACerts) Create(ctx context.Context, req infer.CreateRequest[CACertsArgs]) (infer.CreateResponse[CACertsState], error) {
	id := newID(req.Name)
	state := CACertsState{CACertsArgs: req.Inputs}
	if req.DryRun {
		if err := r.deps.previewClaims(ctx, req.Inputs.Cluster, req.Inputs.Adopt, writerOf(req.Inputs, id, false), caCertsTakeover); err != nil {
			return infer.CreateResponse[CACertsState]{}, err
		}
		return infer.CreateResponse[CACertsState]{ID: id, Output: state}, nil
	}
	created, err := r.apply(ctx, writerOf(req.Inputs, id, false), req.Inputs)
	if err != nil {
		return infer.CreateResponse[CACertsState]{}, err
	}
	state.Checksum = checksum(req.Inputs.data())
	state.CreatedNamespace = created
	return infer.CreateResponse[CACertsState]{ID: id, Output: state}, nil
}

// Update rewrites the secret.
func (r *CACerts) Update(ctx context.Context, req infer.UpdateRequest[CACertsArgs, CACertsState]) (infer.UpdateResponse[CACertsState], error) {
	state := req.State
	state.CACertsArgs = req.Inputs
	// Previews, and changes to how the cluster is reached, touch nothing.
	changes := r.changes(req.State, req.Inputs)
	if req.DryRun || quietOnly(changes, req.Inputs) {
		return infer.UpdateResponse[CACertsState]{Output: state}, nil
	}
	w := writerOf(req.Inputs, req.ID, true)
	if markOnly(changes, req.Inputs) {
		ctx, cancel := withTimeout(ctx, req.Inputs.TimeoutSeconds)
		defer cancel()
		return infer.UpdateResponse[CACertsState]{Output: state}, r.deps.markOwned(ctx, req.Inputs.Cluster, w, caCertsTakeover)
	}
	created, err := r.apply(ctx, w, req.Inputs)
	if err != nil {
		return infer.UpdateResponse[CACertsState]{}, err
	}
	state.Checksum = checksum(req.Inputs.data())
	state.CreatedNamespace = state.CreatedNamespace || created
	return infer.UpdateResponse[CACertsState]{Output: state}, nil
}

// caCertsTakeover is what CACerts writes.
var caCertsTakeover = takeover{objects: []objectRef{{secretGVK, naming.IstioNamespace, naming.CACertsSecret}}}

func (r *CACerts) apply(ctx context.Context, w writer, in CACertsArgs) (createdNamespace bool, err error) {
	ctx, cancel := withTimeout(ctx, in.TimeoutSeconds)
	defer cancel()
	client, err := r.deps.kubeClient(in.Cluster)
	if err != nil {
		return false, err
	}
	p.GetLogger(ctx).InfoStatusf("%s: writing %s/%s", in.Cluster.Name, naming.IstioNamespace, naming.CACertsSecret)
	ns, err := client.Get(ctx, namespaceGVK, "", naming.IstioNamespace)
	if err != nil {
		return false, wrapCluster(in.Cluster.Name, fmt.Errorf("reading namespace %s: %w", naming.IstioNamespace, err))
	}
	// Only create the namespace: its labels belong to the control plane, which
	// applies them with the same field manager.
	if ns == nil {
		if err := client.EnsureNamespace(ctx, naming.IstioNamespace, nil); err != nil {
			return false, wrapCluster(in.Cluster.Name, err)
		}
	}
	if err := claim(ctx, client, w, caCertsTakeover.objects[0], deref(in.Adopt)); err != nil {
		return false, wrapCluster(in.Cluster.Name, err)
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
		return false, wrapCluster(in.Cluster.Name, fmt.Errorf("writing secret %s/%s: %w", naming.IstioNamespace, naming.CACertsSecret, err))
	}
	return ns == nil, nil
}

// Read fingerprints the live secret; an empty checksum means it is gone.
func (r *CACerts) Read(ctx context.Context, req infer.ReadRequest[CACertsArgs, CACertsState]) (infer.ReadResponse[CACertsArgs, CACertsState], error) {
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // refresh is bounded like the writes
	defer cancel()
	client, err := r.deps.kubeClient(req.State.Cluster)
	if err != nil {
		return infer.ReadResponse[CACertsArgs, CACertsState]{}, err
	}
	live, err := client.GetSecret(ctx, naming.IstioNamespace, naming.CACertsSecret)
	if err != nil {
		return infer.ReadResponse[CACertsArgs, CACertsState]{}, wrapCluster(req.State.Cluster.Name, fmt.Errorf("reading secret %s/%s: %w", naming.IstioNamespace, naming.CACertsSecret, err))
	}
	state := req.State
	state.Checksum = ""
	if live != nil {
		state.Checksum = checksum(ownKeys(live.Data, state.data()))
	}
	return infer.ReadResponse[CACertsArgs, CACertsState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes the secret, and istio-system when ristio created it and
// nothing else lives there.
func (r *CACerts) Delete(ctx context.Context, req infer.DeleteRequest[CACertsState]) (infer.DeleteResponse, error) {
	c := req.State.Cluster
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // bounds the namespace deletion
	defer cancel()
	client, err := r.deps.kubeClient(c)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if err := deleteManaged(ctx, client, writerOf(req.State, req.ID, true), secretGVK, naming.IstioNamespace, naming.CACertsSecret); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if err := deleteNamespaceIfOurs(ctx, client, c.Name, naming.IstioNamespace, istioNamespaceUse(ctx, client)); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
