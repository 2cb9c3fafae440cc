package examples

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/meshassert"
	"github.com/ristio/pulumi-ristio/pkg/gatewayapi"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/sample"
)

// assertAmbientObjects checks what an ambient mesh adds in one cluster: the
// east-west Gateway, Programmed by the real istiod with address (the
// cluster's gatewayAddresses output) in its status; the gateway Deployment
// istiod made from it; ztunnel and the CNI node agent; and the sample's
// ambient namespace and global services.
func assertAmbientObjects(t *testing.T, c *localcluster.Cluster, address string) {
	t.Helper()
	ctx := context.Background()
	gw, err := dynamicClient(t, c).Resource(gatewayapi.GatewayGVR).Namespace(naming.IstioNamespace).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s: east-west Gateway: %v", c.Name, err)
	} else if s := gatewayapi.ReadGatewayStatus(gw); !s.Programmed || len(s.Addresses) == 0 || s.Addresses[0] != address {
		t.Errorf("%s: east-west Gateway %s; want programmed at gatewayAddresses' %q", c.Name, s, address)
	}
	dep, err := c.Client.AppsV1().Deployments(naming.IstioNamespace).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
	if err == nil && !meshassert.OwnedByEastWestGateway(dep.OwnerReferences) {
		t.Errorf("%s: Deployment %s is owned by %v, want istiod's, owned by the Gateway", c.Name, dep.Name, dep.OwnerReferences)
	}
	for _, ds := range []string{"ztunnel", "istio-cni-node"} {
		if _, err := c.Client.AppsV1().DaemonSets(naming.IstioNamespace).Get(ctx, ds, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: DaemonSet %s: %v", c.Name, ds, err)
		}
	}
	ns, err := c.Client.CoreV1().Namespaces().Get(ctx, naming.SampleNamespace, metav1.GetOptions{})
	if err != nil {
		t.Errorf("%s: namespace %s: %v", c.Name, naming.SampleNamespace, err)
	} else if ns.Labels[sample.DataplaneModeLabel] != "ambient" {
		t.Errorf("%s: namespace %s has labels %v, want %s=ambient", c.Name, ns.Name, ns.Labels, sample.DataplaneModeLabel)
	}
	svcs, err := c.Client.CoreV1().Services(naming.SampleNamespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(svcs.Items) == 0 {
		t.Errorf("%s: no sample services (%v)", c.Name, err)
		return
	}
	for _, s := range svcs.Items {
		if s.Labels[sample.GlobalLabel] != "true" {
			t.Errorf("%s: sample service %s has labels %v, want %s=true", c.Name, s.Name, s.Labels, sample.GlobalLabel)
		}
	}
}

// assertAmbientGone checks that destroy removed the east-west Gateway and the
// Gateway API CRDs ristio installed (the clusters had none before).
func assertAmbientGone(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	d := dynamicClient(t, c)
	_, err := d.Resource(gatewayapi.GatewayGVR).Namespace(naming.IstioNamespace).Get(ctx, gatewayapi.EastWestGatewayName, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("%s: east-west Gateway after destroy: %v, want not found", c.Name, err)
	}
	meshassert.NoGatewayAPICRDs(t, c)
}

func dynamicClient(t *testing.T, c *localcluster.Cluster) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
