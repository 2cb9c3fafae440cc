package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// ClusterConnection says which cluster a resource acts on and how to reach it.
type ClusterConnection struct {
	Name           string  `pulumi:"name" provider:"replaceOnChanges"`
	Kubeconfig     *string `pulumi:"kubeconfig,optional" provider:"secret" diff:"quiet"`
	KubeconfigFile *string `pulumi:"kubeconfigFile,optional" diff:"quiet"`
	Context        *string `pulumi:"context,optional" diff:"quiet"`
}

// Annotate documents ClusterConnection.
func (c *ClusterConnection) Annotate(a infer.Annotator) {
	a.Describe(&c, "How to reach one Kubernetes cluster of the mesh.")
	a.Describe(&c.Name, "The cluster's name in the mesh: a DNS-1123 label, used as Istio's clusterName.")
	a.Describe(&c.Kubeconfig, "Kubeconfig contents. Give this or kubeconfigFile, or neither to use KUBECONFIG or ~/.kube/config.")
	a.Describe(&c.KubeconfigFile, "Path of a kubeconfig file.")
	a.Describe(&c.Context, "Kubeconfig context to use; the current context when unset.")
}

// key names the cluster and how it is reached, for sharing work between
// resources of one process; the kubeconfig is hashed, not kept.
func (c ClusterConnection) key() string {
	sum := sha256.Sum256([]byte(deref(c.Kubeconfig)))
	return strings.Join([]string{c.Name, deref(c.KubeconfigFile), deref(c.Context), hex.EncodeToString(sum[:])}, "\x00")
}

func (c ClusterConnection) source() kubeconfig.Source {
	return kubeconfig.Source{Kubeconfig: deref(c.Kubeconfig), File: deref(c.KubeconfigFile), Context: deref(c.Context)}
}

// checkConnection validates a connection found at field (e.g. "cluster") of
// the raw inputs, skipping parts that are not known yet during preview.
func checkConnection(field string, raw property.Map, c ClusterConnection) []p.CheckFailure {
	var failures []p.CheckFailure
	if err := naming.ValidateDNSLabel(c.Name); err != nil {
		failures = append(failures, p.CheckFailure{Property: field + ".name", Reason: fmt.Sprintf("cluster name %v", err)})
	}
	obj := raw.Get(field)
	if obj.IsComputed() || !obj.IsMap() {
		return failures
	}
	for _, k := range []string{"kubeconfig", "kubeconfigFile", "context"} {
		if obj.AsMap().Get(k).IsComputed() {
			return failures
		}
	}
	if err := c.source().Validate(); err != nil {
		failures = append(failures, p.CheckFailure{Property: field, Reason: fmt.Sprintf("cluster %q: %v", c.Name, err)})
	}
	return failures
}
