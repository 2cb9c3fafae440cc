package provider

import (
	"context"
	"fmt"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[RemoteSecretArgs, RemoteSecretState] = (*RemoteSecret)(nil)
	_ infer.CustomCheck[RemoteSecretArgs]                       = (*RemoteSecret)(nil)
	_ infer.CustomDiff[RemoteSecretArgs, RemoteSecretState]     = (*RemoteSecret)(nil)
	_ infer.CustomUpdate[RemoteSecretArgs, RemoteSecretState]   = (*RemoteSecret)(nil)
	_ infer.CustomRead[RemoteSecretArgs, RemoteSecretState]     = (*RemoteSecret)(nil)
	_ infer.CustomDelete[RemoteSecretState]                     = (*RemoteSecret)(nil)
)

// newRemoteSecret builds the resource. It reaches both clusters through
// connectKube; its Diff replaces the secret when either end changes and
// updates it after a hand edit and when the token is near its end. A
// rotated kubeconfig is recorded quietly unless it reaches another server.
func newRemoteSecret(deps Deps) *RemoteSecret {
	r := &RemoteSecret{deps: deps}
	r.clusterResource = clusterResource[RemoteSecretArgs, RemoteSecretState, remoteSecretKube]{
		connect: connectKube[remoteSecretKube](deps), claims: deps,
		takeover: func(in RemoteSecretArgs, _ *RemoteSecretState) takeover {
			return takeover{objects: []objectRef{remoteSecretRef(in.Source.Name)}}
		},
		drift: func(s RemoteSecretState) map[string]bool {
			return map[string]bool{"checksum": s.Checksum != s.AppliedChecksum, "tokenExpiresAt": r.tokenDue(s)}
		},
		rewrite: func(prior RemoteSecretState, in RemoteSecretArgs) bool {
			return serverOf(in, prior.RemoteSecretStatus) != prior.Server
		},
		apply: r.write, read: r.read, remove: r.remove, mark: r.mark, preview: r.preview,
	}
	return r
}

// remoteSecretRef is the secret that lets a target watch source.
func remoteSecretRef(source string) objectRef {
	return objectRef{secretGVK, naming.IstioNamespace, naming.RemoteSecret(source)}
}

// remoteSecretKube is what a remote secret asks of its source (a reader
// token) and its target (the secret).
type remoteSecretKube interface {
	objectClient
	secretClient
	WaitForServiceAccount(ctx context.Context, ns, name string, progress kube.Progress) error
	ServiceAccountSecretToken(ctx context.Context, ns, sa, secretName string, progress kube.Progress) (string, error)
	RequestBoundToken(ctx context.Context, ns, sa string, ttl time.Duration, binding string, labels, annotations map[string]string) (string, time.Time, error)
}

// revokeTimeout bounds revoking a token that was minted but not written,
// which runs even when the write ended with its context.
const revokeTimeout = 30 * time.Second

// tokenRenewFraction is the share of a reader token's life after which `up` reissues it.
const tokenRenewFraction = 0.8

// Check validates both connections, the mode and the API-server URL.
func (r *RemoteSecret) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[RemoteSecretArgs], error) {
	return checkInputs(ctx, req, func(args RemoteSecretArgs, old *RemoteSecretArgs) (failures []p.CheckFailure) {
		failures = append(checkConnection("source", req.NewInputs, args.Source), checkConnection("target", req.NewInputs, args.Target)...)
		failures = append(failures, checkRemoteSecretOptions("", args.Source.Name, args)...)
		failures = append(failures, checkRestartPolicy("restartIstiodAfterSecretRotation", args.Target.Name, args.RestartIstiod)...)
		if args.Source.Name == args.Target.Name {
			failures = append(failures, p.CheckFailure{Property: "target.name", Reason: fmt.Sprintf("source and target are both cluster %q: a cluster needs no remote secret for itself", args.Source.Name)})
		}
		return failures
	})
}

func checkRemoteSecretOptions(prefix, cluster string, a RemoteSecretArgs) []p.CheckFailure {
	var failures []p.CheckFailure
	switch m := deref(a.ReaderTokenMode); m {
	case "", tokenRequestMode, serviceAccountSecretMode:
	default:
		failures = append(failures, p.CheckFailure{Property: prefix + "readerTokenMode", Reason: fmt.Sprintf("readerTokenMode must be %s or %s, got %q", tokenRequestMode, serviceAccountSecretMode, m)})
	}
	if h := deref(a.ReaderTokenTTLHours); a.ReaderTokenTTLHours != nil && h <= 0 {
		failures = append(failures, p.CheckFailure{Property: prefix + "readerTokenTtlHours", Reason: fmt.Sprintf("readerTokenTtlHours must be positive, got %d", h)})
	}
	if u := deref(a.RemoteAPIServer); u != "" {
		if err := checkHTTPSURL(u); err != nil {
			failures = append(failures, p.CheckFailure{Property: prefix + "remoteApiServer", Reason: fmt.Sprintf("cluster %q: remoteApiServer %v", cluster, err)})
		}
	}
	return failures
}

// Diff also says when the reader token is due for renewal.
func (r *RemoteSecret) Diff(ctx context.Context, req infer.DiffRequest[RemoteSecretArgs, RemoteSecretState]) (infer.DiffResponse, error) {
	diff := r.changes(req.State, req.Inputs)
	if _, due := diff["tokenExpiresAt"]; due {
		p.GetLogger(ctx).Infof("%s -> %s: reader token expires %s and is due for renewal", req.State.Source.Name, req.State.Target.Name, req.State.TokenExpiresAt)
	}
	return diffResponse(diff), nil
}

func (r *RemoteSecret) tokenDue(s RemoteSecretState) bool {
	issued, err1 := time.Parse(time.RFC3339, s.TokenIssuedAt)
	expires, err2 := time.Parse(time.RFC3339, s.TokenExpiresAt)
	if err1 != nil || err2 != nil {
		return false // long-lived token, or not created yet
	}
	renewAt := issued.Add(time.Duration(float64(expires.Sub(issued)) * tokenRenewFraction))
	return !r.deps.Now().Before(renewAt)
}

// preview says which API server an adopted or updated secret will point
// at, and whether the target's istiods restart.
func (r *RemoteSecret) preview(ctx context.Context, in RemoteSecretArgs, prior *RemoteSecretState) RemoteSecretState {
	if prior != nil {
		previewServerChange(ctx, in, prior.RemoteSecretStatus)
		r.deps.previewRestart(ctx, in.Target, in.RestartIstiod)
		return withArgs(*prior, in)
	}
	name := naming.RemoteSecret(in.Source.Name)
	if deref(in.Adopt) {
		r.deps.previewAdoptedServer(ctx, in)
		r.deps.previewAdoptedRewrites(ctx, in.Target, in.RestartIstiod, name)
	}
	return RemoteSecretState{RemoteSecretArgs: in, RemoteSecretStatus: RemoteSecretStatus{SecretName: name}}
}

// write applies the secret, lets the target's istiods restart once the
// round of rewrites into the target ends (see istiodRestarts), and then
// revokes the token it replaced; it has touched the clusters once the
// secret is written. A restart that fails leaves the secret marked
// drifted, so the next up writes it again and retries the restart.
func (r *RemoteSecret) write(ctx context.Context, dst remoteSecretKube, w writer, in RemoteSecretArgs, prior *RemoteSecretState) (RemoteSecretState, bool, error) {
	round := r.deps.writingSecrets(in.Target)
	var was RemoteSecretStatus
	if prior != nil {
		was = prior.RemoteSecretStatus
	}
	state, rewrote, err := r.writeSecret(ctx, dst, w, in, was)
	if rerr := round.done(ctx, rewrote && err == nil, in.RestartIstiod); rerr != nil && err == nil {
		state.Checksum = ""
		err = rerr
	}
	written := state.AppliedChecksum != ""
	if prior != nil && written {
		// The new token is written (even if a restart after it failed):
		// the old one goes, within its own bound.
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
		defer cancel()
		r.revokeReplaced(undo, *prior, state.RemoteSecretStatus, in.ReaderTokenMode)
	}
	return state, written, err
}

// writeSecret writes the secret into dst, the target, and says whether it
// rewrote one that held other data (what some Istio releases mishandle;
// see istiodRestarts). prior is what was written before (zero on create),
// whose kept endpoint stays.
func (r *RemoteSecret) writeSecret(ctx context.Context, dstClient remoteSecretKube, w writer, in RemoteSecretArgs, prior RemoteSecretStatus) (RemoteSecretState, bool, error) {
	state := RemoteSecretState{RemoteSecretArgs: in, RemoteSecretStatus: RemoteSecretStatus{SecretName: naming.RemoteSecret(in.Source.Name)}}
	src, dst := in.Source, in.Target
	report := progress(ctx, src.Name)

	// The target is claimed before any token is minted, so a refusal
	// leaves no token behind.
	live, err := dstClient.GetSecret(ctx, naming.IstioNamespace, state.SecretName)
	if err != nil {
		return state, false, wrapCluster(dst.Name, fmt.Errorf("reading secret %s/%s: %w", naming.IstioNamespace, state.SecretName, err))
	}
	if err := claim(ctx, dstClient, w, objectRef{secretGVK, naming.IstioNamespace, state.SecretName}, deref(in.Adopt)); err != nil {
		return state, false, wrapCluster(dst.Name, err)
	}
	if kept, ok := adoptedEndpoint(in, live); ok {
		prior.KeptServer, prior.KeptCAPEM = kept.KeptServer, kept.KeptCAPEM
	}
	server, caData, err := writtenEndpoint(in, prior)
	if err != nil {
		return state, false, wrapCluster(src.Name, err)
	}
	state.Server = server
	if deref(in.RemoteAPIServer) == "" {
		state.KeptServer, state.KeptCAPEM = prior.KeptServer, prior.KeptCAPEM
	}

	srcClient, err := r.connect(ctx, src, w)
	if err != nil {
		return state, false, err
	}
	if err := srcClient.WaitForServiceAccount(ctx, naming.IstioNamespace, naming.ReaderServiceAccount, report); err != nil {
		return state, false, wrapCluster(src.Name, err)
	}
	issued := r.deps.Now()
	var token string
	if deref(in.ReaderTokenMode) == serviceAccountSecretMode {
		token, err = srcClient.ServiceAccountSecretToken(ctx, naming.IstioNamespace, naming.ReaderServiceAccount, naming.ReaderTokenSecret(dst.Name), report)
	} else {
		ttl := time.Duration(readerTokenHours(in)) * time.Hour
		var expires time.Time
		var suffix string
		if suffix, err = resource.NewUniqueHex("", 8, 0); err != nil {
			return state, false, err
		}
		binding := naming.ReaderTokenBinding(dst.Name, suffix)
		token, expires, err = srcClient.RequestBoundToken(ctx, naming.IstioNamespace, naming.ReaderServiceAccount, ttl, binding, naming.ManagedLabels(), w.annotations())
		state.TokenExpiresAt = expires.UTC().Format(time.RFC3339)
		if err == nil {
			state.TokenBinding = binding
		}
	}
	if err != nil {
		return state, false, wrapCluster(src.Name, fmt.Errorf("reader token for %s: %w", dst.Name, err))
	}
	state.TokenIssuedAt = issued.UTC().Format(time.RFC3339)
	// A token that is not written is revoked again.
	written := false
	defer func() {
		if !written && state.TokenBinding != "" {
			undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
			defer cancel()
			r.revoke(undo, in.mesh(), src, state.TokenBinding, dst.Name)
			state.TokenBinding = ""
		}
	}()

	config, err := kubeconfig.BuildRemote(src.Name, server, caData, token)
	if err != nil {
		return state, false, wrapCluster(src.Name, fmt.Errorf("building remote kubeconfig: %w", err))
	}
	data := map[string][]byte{src.Name: config}

	p.GetLogger(ctx).InfoStatusf("%s: writing %s/%s", dst.Name, naming.IstioNamespace, state.SecretName)
	labels := naming.ManagedLabels()
	labels[naming.MultiClusterLabel] = "true"
	annotations := w.annotations()
	annotations[naming.ClusterAnnotation] = src.Name
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: state.SecretName, Namespace: naming.IstioNamespace, Labels: labels, Annotations: annotations,
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	if err := dstClient.ApplySecret(ctx, secret); err != nil {
		return state, false, wrapCluster(dst.Name, fmt.Errorf("writing secret %s/%s: %w", naming.IstioNamespace, state.SecretName, err))
	}
	written = true
	state.AppliedChecksum = checksum(data)
	state.Checksum = state.AppliedChecksum
	rewrote := live != nil && checksum(ownKeys(live.Data, data)) != state.AppliedChecksum
	return state, rewrote, nil
}

// serverOf is the source API server a remote secret for in points at, given
// what was written before (prior), or "" when the source's kubeconfig cannot
// be read.
func serverOf(in RemoteSecretArgs, prior RemoteSecretStatus) string {
	server, _, err := writtenEndpoint(in, prior)
	if err != nil {
		return ""
	}
	return server
}

// writtenEndpoint is the source API server and CA the target is given:
// remoteApiServer when set (with the kubeconfig's CA), else the endpoint
// kept from an adopted istioctl secret, else the kubeconfig's.
func writtenEndpoint(in RemoteSecretArgs, prior RemoteSecretStatus) (server string, caData []byte, err error) {
	server, caData, err = in.Source.source().Endpoint()
	switch {
	case err != nil:
	case deref(in.RemoteAPIServer) != "":
		server = deref(in.RemoteAPIServer)
	case prior.KeptServer != "":
		server, caData = prior.KeptServer, []byte(prior.KeptCAPEM)
	}
	return server, caData, err
}

func readerTokenHours(in RemoteSecretArgs) int {
	if in.ReaderTokenTTLHours == nil {
		return defaultReaderTokenHours
	}
	return *in.ReaderTokenTTLHours
}

// read fingerprints the live secret in dst, the target; empty means it is gone.
func (r *RemoteSecret) read(ctx context.Context, dst remoteSecretKube, s RemoteSecretState) (RemoteSecretState, error) {
	sum, err := fingerprint(ctx, dst, s)
	s.Checksum = sum
	return s, err
}

// fingerprint is the checksum of the data ristio writes in the live secret
// in dst, or "" when it is gone.
func fingerprint(ctx context.Context, dst remoteSecretKube, s RemoteSecretState) (string, error) {
	name := naming.RemoteSecret(s.Source.Name)
	live, err := dst.GetSecret(ctx, naming.IstioNamespace, name)
	if err != nil {
		return "", wrapCluster(s.Target.Name, fmt.Errorf("reading secret %s/%s: %w", naming.IstioNamespace, name, err))
	}
	if live == nil {
		return "", nil
	}
	return checksum(ownKeys(live.Data, map[string][]byte{s.Source.Name: nil})), nil
}

// mark gives the secret in the target, and the object its token is bound to
// in the source, w's mark in place (a change of meshIdentity alone).
func (r *RemoteSecret) mark(ctx context.Context, w writer, s RemoteSecretState) error {
	if err := r.claims.markOwned(ctx, s.Target, w, takeover{objects: []objectRef{remoteSecretRef(s.Source.Name)}}); err != nil {
		return err
	}
	if s.TokenBinding == "" {
		return nil
	}
	return r.claims.markOwned(ctx, s.Source, w, takeover{objects: []objectRef{{secretGVK, naming.IstioNamespace, s.TokenBinding}}})
}

// remove deletes the secret w wrote in dst, the target, and revokes the
// token; a source that is gone does not block it.
func (r *RemoteSecret) remove(ctx context.Context, dst remoteSecretKube, w writer, s RemoteSecretState) error {
	if err := deleteManaged(ctx, dst, w, secretGVK, naming.IstioNamespace, naming.RemoteSecret(s.Source.Name)); err != nil {
		return wrapCluster(s.Target.Name, err)
	}
	r.revoke(ctx, s.mesh(), s.Source, s.TokenBinding, s.Target.Name)
	if deref(s.ReaderTokenMode) == serviceAccountSecretMode {
		r.revokeLongLivedToken(ctx, s.mesh(), s.Source, s.Target.Name)
	}
	return nil
}

// revokeLongLivedToken deletes the reader token secret made for peer in the
// source.
func (r *RemoteSecret) revokeLongLivedToken(ctx context.Context, mesh naming.MeshIdentity, source ClusterConnection, peer string) {
	r.revoke(ctx, mesh, source, naming.ReaderTokenSecret(peer), peer)
}

// revoke deletes the secret in the source that a reader token of peer lives
// in or is bound to, which ends that token at once, unless another mesh
// marked it. It only warns on
// failure: a source that is gone took the token with it.
func (r *RemoteSecret) revoke(ctx context.Context, mesh naming.MeshIdentity, source ClusterConnection, secret, peer string) {
	if secret == "" {
		return
	}
	src, err := r.connect(ctx, source, writer{mesh: mesh})
	if err == nil {
		err = deleteManaged(ctx, src, writer{mesh: mesh}, secretGVK, naming.IstioNamespace, secret)
	}
	if err != nil {
		p.GetLogger(ctx).Warningf("cluster %s: could not revoke the reader token of %s (delete secret %s/%s by hand): %v", source.Name, peer, naming.IstioNamespace, secret, err)
	}
}

// revokeReplaced revokes the token old held once next replaced it: a
// renewed token, another mode, another source.
func (r *RemoteSecret) revokeReplaced(ctx context.Context, old RemoteSecretState, next RemoteSecretStatus, nextMode *string) {
	if old.TokenBinding != "" && old.TokenBinding != next.TokenBinding {
		r.revoke(ctx, old.mesh(), old.Source, old.TokenBinding, old.Target.Name)
	}
	if deref(old.ReaderTokenMode) == serviceAccountSecretMode && deref(nextMode) != serviceAccountSecretMode {
		r.revokeLongLivedToken(ctx, old.mesh(), old.Source, old.Target.Name)
	}
}
