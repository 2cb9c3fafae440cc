package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

const defaultTimeoutSeconds = 600

func (d Deps) kubeClient(c ClusterConnection) (*kube.Client, error) {
	client, err := d.Kube(c.source())
	if err != nil {
		return nil, wrapCluster(c.Name, fmt.Errorf("connecting: %w", err))
	}
	return client, nil
}

// helmClient talks Helm to one cluster's istio-system; releases it writes are
// labelled with w's owner (the ID of the resource writing them) and mesh.
func (d Deps) helmClient(ctx context.Context, c ClusterConnection, w writer) (*helm.Client, error) {
	logger := p.GetLogger(ctx)
	client, err := d.Helm(c.source(), naming.IstioNamespace, func(format string, a ...any) {
		logger.Debugf(c.Name+": helm: "+format, a...)
	})
	if err != nil {
		return nil, wrapCluster(c.Name, fmt.Errorf("connecting helm: %w", err))
	}
	client.Owner = w.owner
	client.Mesh = w.mesh.LabelValue()
	return client, nil
}

// progress reports waits on the resource's status line, prefixed by the cluster.
func progress(ctx context.Context, cluster string) kube.Progress {
	logger := p.GetLogger(ctx)
	return func(format string, a ...any) {
		logger.InfoStatusf(cluster+": "+format, a...)
	}
}

// withTimeout bounds a whole create, update, read or delete by the user's
// timeoutSeconds.
func withTimeout(ctx context.Context, seconds *int) (context.Context, context.CancelFunc) {
	s := deref(seconds)
	if s <= 0 {
		s = defaultTimeoutSeconds
	}
	return context.WithTimeout(ctx, time.Duration(s)*time.Second)
}

// checksum fingerprints secret data so refresh can tell an edited secret from
// ours without keeping its contents in state.
func checksum(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write(fmt.Appendf(nil, "%s\x00%d\x00", k, len(data[k]))) // a hash never fails to write
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newID makes the ID of a resource that writes cluster objects. It is
// unique per create because the ID is the owner mark on those objects: a
// replacement is created before the resource it replaces is deleted, and the
// old one must then leave the new one's objects alone.
func newID(name string) string {
	id, err := resource.NewUniqueHex(name+"-", 8, 0)
	if err != nil {
		panic(err) // only a maximum length, which there is none, fails it
	}
	return id
}

// partial reports a create or update that left objects in the cluster:
// Pulumi keeps the resource, with what was done, in state, so a later up
// retries it as an update and a destroy still removes what was made.
func partial(err error) error {
	if err == nil {
		return nil
	}
	return infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
}

// ownKeys keeps the entries of live that ristio writes (those of want), so a
// key someone else added does not show as drift that never goes away.
func ownKeys(live, want map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k := range want {
		if v, ok := live[k]; ok {
			out[k] = v
		}
	}
	return out
}

// deleteHint turns a failed delete into advice, since an unreachable cluster
// must not block destroy forever.
func deleteHint(cluster string, err error) error {
	return fmt.Errorf("%w (if this cluster is gone for good, drop the resource from state with `pulumi state delete <urn>` and rerun)", wrapCluster(cluster, err))
}

// clusterError is an error of one cluster's. Its message names the cluster
// once, however often it is wrapped on its way up (errors.As finds it).
type clusterError struct {
	cluster string
	err     error
}

func (e *clusterError) Error() string { return "cluster " + e.cluster + ": " + e.err.Error() }

func (e *clusterError) Unwrap() error { return e.err }

// wrapCluster makes err an error of cluster's, unless it already is one.
func wrapCluster(cluster string, err error) error {
	var ce *clusterError
	if err == nil || errors.As(err, &ce) && ce.cluster == cluster {
		return err
	}
	return &clusterError{cluster: cluster, err: err}
}
