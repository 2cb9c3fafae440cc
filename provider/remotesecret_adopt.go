package provider

import (
	"context"

	p "github.com/pulumi/pulumi-go-provider"
	corev1 "k8s.io/api/core/v1"

	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// An `istioctl create-remote-secret` secret may reach the source another
// way than the kubeconfig ristio is given (`--server`: a private endpoint,
// a proxy). Adopting it keeps that endpoint unless remoteApiServer says
// otherwise, so the take-over does not move the target's istiod to a
// server it may not reach.

// adoptedEndpoint is the endpoint of live, a remote secret for in.Source
// about to be adopted (adopt set, not ristio's), when it differs from the
// source kubeconfig's; ok is false otherwise, or when remoteApiServer is
// set or live cannot be read.
func adoptedEndpoint(in RemoteSecretArgs, live *corev1.Secret) (kept RemoteSecretStatus, ok bool) {
	if !deref(in.Adopt) || live == nil || managedByRistio(live.Labels) || deref(in.RemoteAPIServer) != "" {
		return kept, false
	}
	server, caData, _, err := kubeconfig.ParseRemote(live.Data[in.Source.Name], in.Source.Name)
	if err != nil {
		return kept, false
	}
	if own, _, err := in.Source.source().Endpoint(); err == nil && own == server {
		return kept, false
	}
	return RemoteSecretStatus{KeptServer: server, KeptCAPEM: string(caData)}, true
}

// previewAdoptedServer says, in the preview of an adoption, which API
// server each istioctl secret will point at: the one it has (kept) or
// remoteApiServer's, when that changes it.
func (d Deps) previewAdoptedServer(ctx context.Context, in RemoteSecretArgs) {
	if !deref(in.Adopt) {
		return
	}
	client, err := d.kubeClient(in.Target)
	if err != nil {
		return
	}
	name := naming.RemoteSecret(in.Source.Name)
	live, err := client.GetSecret(ctx, naming.IstioNamespace, name)
	if err != nil || live == nil || managedByRistio(live.Labels) {
		return
	}
	was, _, _, err := kubeconfig.ParseRemote(live.Data[in.Source.Name], in.Source.Name)
	if err != nil {
		return
	}
	logger := p.GetLogger(ctx)
	switch now := serverOf(in, RemoteSecretStatus{KeptServer: was}); {
	case now == "":
	case now != was:
		logger.Warningf("cluster %s: adopt Secret %s/%s: its API server for %s changes from %s to %s (remoteApiServer)", in.Target.Name, naming.IstioNamespace, name, in.Source.Name, was, now)
	default:
		if own, _, err := in.Source.source().Endpoint(); err == nil && own != was {
			logger.Infof("cluster %s: adopt Secret %s/%s: keeps its API server for %s, %s (the kubeconfig reaches it at %s; set remoteApiServer to change it)", in.Target.Name, naming.IstioNamespace, name, in.Source.Name, was, own)
		}
	}
}

// previewServerChange says, in the preview of an update, when the source's
// API server written into the secret changes.
func previewServerChange(ctx context.Context, in RemoteSecretArgs, prior RemoteSecretStatus) {
	if now := serverOf(in, prior); now != "" && prior.Server != "" && now != prior.Server {
		p.GetLogger(ctx).Warningf("cluster %s: %s/%s: its API server for %s changes from %s to %s", in.Target.Name, naming.IstioNamespace, naming.RemoteSecret(in.Source.Name), in.Source.Name, prior.Server, now)
	}
}
