package provider

import (
	"context"
	"fmt"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
)

// A step that drops a root (the third of a rotation) is safe only once
// every cluster of the mesh signs with a root that stays: a cluster that
// missed the second step (unreachable, or its cacerts rewritten since)
// still issues certificates from the dropped root, which every other
// cluster would then reject. Each cluster's CACerts compares only its own
// inputs, so this guard reads every cluster's live cacerts and asks every
// istiod what it serves, before anything is written.

// rootDrop refuses an update of cacerts from oldTrusted to the bundle of
// args when it drops a root while a cluster of the mesh lags. It runs in
// Check, so at preview when the clusters' connections are known, and again
// at up before the secret is written. raw are the new inputs as given.
func (r *CACerts) rootDrop(ctx context.Context, raw property.Map, args CACertsArgs, oldTrusted []byte) *p.CheckFailure {
	if raw.Get("rootCertPem").IsComputed() || anyComputed(raw.Get("extraRootCertPems")) {
		return nil // the new bundle is not known yet; up checks it
	}
	kept := args.data()[pki.RootCertFile]
	dropped, err := pki.DroppedRoots(oldTrusted, kept)
	if err != nil || len(dropped) == 0 {
		return nil // a bundle that cannot be read is refused by its own check
	}
	clusters := args.MeshClusters
	if len(clusters) == 0 {
		clusters = []ClusterConnection{args.Cluster}
	}
	logger := p.GetLogger(ctx)
	if raw.Get("meshClusters").HasComputed() || raw.Get("cluster").HasComputed() {
		logger.Infof("cluster %s: this step stops trusting %s; whether every cluster already signs with a root that stays is checked when the clusters' connections are known", args.Cluster.Name, pki.DescribeRoots(dropped))
		return nil
	}
	ctx, cancel := withTimeout(ctx, args.TimeoutSeconds)
	defer cancel()
	logger.InfoStatusf("%s: checking that every cluster signs with a root that stays before dropping %s", args.Cluster.Name, pki.DescribeRoots(dropped))
	lags := meshcheck.DropLag(kept, r.readTrust(ctx, clusters), r.deps.Now())
	if len(lags) == 0 {
		return nil
	}
	why := make([]string, len(lags))
	for i, l := range lags {
		why[i] = l.String()
	}
	return &p.CheckFailure{Property: "extraRootCertPems", Reason: fmt.Sprintf(
		"cluster %q: certificate.roots: this step stops trusting %s, but these clusters lag behind: %s. Dropping the root now would make the other clusters reject their workloads' certificates. "+
			"Finish step 2 on them first (keep the new root first and the old one second; `pulumi up --refresh` rewrites a cacerts that changed), "+
			"wait until their istiod serves the new intermediate, then drop the root",
		args.Cluster.Name, pki.DescribeRoots(dropped), strings.Join(why, "; "))}
}

// readTrust reads each cluster's live cacerts and what its istiods serve,
// as many clusters at once as the mesh check asks. A cluster that cannot be
// read says why.
func (r *CACerts) readTrust(ctx context.Context, clusters []ClusterConnection) []meshcheck.LiveTrust {
	out := make([]meshcheck.LiveTrust, len(clusters))
	_ = fanOut(len(clusters), meshCheckParallelism, func(i int) error {
		c := clusters[i]
		out[i].Cluster = c.Name
		client, err := r.deps.kubeClient(c)
		if err != nil {
			out[i].Problem = err.Error()
			return nil
		}
		secret, err := client.GetSecret(ctx, naming.IstioNamespace, naming.CACertsSecret)
		if err != nil {
			out[i].Problem = fmt.Sprintf("reading secret %s/%s: %v", naming.IstioNamespace, naming.CACertsSecret, err)
			return nil
		}
		if secret != nil {
			out[i].CACerts = secret.Data
		}
		if out[i].Istiods, err = istiod.AskServing(ctx, client); err != nil {
			out[i].Problem = err.Error()
		}
		return nil
	})
	return out
}
