// Package naming holds the names, labels and annotations that Istio's
// multi-primary, multi-network install expects, so that every package spells
// them the same way.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// IstioNamespace is where the control plane, cacerts and remote secrets live.
	IstioNamespace = "istio-system"
	// CACertsSecret is the secret istiod reads its signing CA from.
	CACertsSecret = "cacerts"
	// ReaderServiceAccount is the read-only identity peers use to watch a cluster.
	ReaderServiceAccount = "istio-reader-service-account"

	// BaseRelease is the Helm release of Istio's base chart (CRDs).
	BaseRelease = "istio-base"
	// IstiodRelease is the Helm release of istiod of the default revision
	// (see IstiodReleaseFor).
	IstiodRelease = "istiod"
	// DefaultRevision is Istio's name for the control plane installed without
	// a revision, and the revision tag that selects what namespaces labelled
	// istio-injection=enabled (or istio.io/rev=default) get.
	DefaultRevision = "default"
	// RevisionLabel carries a control plane's revision on its objects.
	RevisionLabel = "istio.io/rev"
	// TagLabel marks a revision tag's webhook configuration.
	TagLabel = "istio.io/tag"
	// DefaultTagWebhook is the webhook configuration of the default revision tag.
	DefaultTagWebhook = "istio-revision-tag-default"
	// DefaultInjectorWebhook is the injection webhook configuration of the
	// control plane installed without a revision.
	DefaultInjectorWebhook = "istio-sidecar-injector"
	// IstioctlRelease is the release name `istioctl install` renders every
	// chart with. An adopted istiod keeps it as its Helm release, so the pod
	// label Istio's charts derive from it (app.kubernetes.io/instance) stays
	// and istiod does not restart.
	IstioctlRelease = "istio"
	// IstioctlOwnerLabel marks every object `istioctl install` writes with the
	// IstioOperator it came from.
	IstioctlOwnerLabel = "install.operator.istio.io/owning-resource"
	// DefaultTagService is the Service of the default revision tag istioctl
	// installs next to a control plane without a revision.
	DefaultTagService = "istiod-revision-tag-default"
	// HelmReleaseAnnotation is set by Helm on every object of a release.
	HelmReleaseAnnotation = "meta.helm.sh/release-name"
	// EastWestRelease is the Helm release of the east-west gateway.
	EastWestRelease = "istio-eastwestgateway"
	// EastWestService is the east-west gateway's Service, whose load-balancer
	// address peers reach.
	EastWestService = "istio-eastwestgateway"
	// EastWestDeployment is the east-west gateway's Deployment. The gateway
	// chart names it and the Service alike today (values name); they are
	// different objects, waited for and read for different reasons.
	EastWestDeployment = "istio-eastwestgateway"
	// CNIRelease is the Helm release of an ambient mesh's CNI node agent, as
	// Istio's guide names it.
	CNIRelease = "istio-cni"
	// ZtunnelRelease is the Helm release of an ambient mesh's ztunnel.
	ZtunnelRelease = "ztunnel"
	// CrossNetworkGateway is the Gateway that exposes *.local on port 15443.
	CrossNetworkGateway = "cross-network-gateway"
	// CrossNetworkPort is the AUTO_PASSTHROUGH port of the east-west gateway.
	CrossNetworkPort = 15443
	// HBONEPort is the ambient east-west gateway's one port: ztunnels of
	// other networks tunnel to it (HBONE, Istio mTLS terminated).
	HBONEPort = 15008

	// NetworkLabel marks the namespace (and gateway) with the cluster's network.
	NetworkLabel = "topology.istio.io/network"
	// MultiClusterLabel marks remote secrets so istiod picks them up.
	MultiClusterLabel = "istio/multiCluster"
	// ClusterAnnotation names the cluster a remote secret points at.
	ClusterAnnotation = "networking.istio.io/cluster"
	// ManagedByLabel marks objects ristio created, so delete removes only those.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel.
	ManagedByValue = "ristio"
	// OwnerAnnotation names the ristio resource that wrote an object, so that
	// when two resources write the same object (a renamed cluster is created
	// before the old name is deleted) only the current writer deletes it.
	OwnerAnnotation = "ristio.io/owner"
	// OwnerLabel carries the same for Helm releases, whose metadata is labels only.
	OwnerLabel = "ristio.io/owner"
	// MeshAnnotation holds the MeshIdentity of the mesh that wrote an object:
	// an object marked by another mesh is foreign.
	MeshAnnotation = "ristio.io/mesh"
	// MeshLabel carries MeshIdentity.LabelValue on Helm releases, whose
	// metadata is labels only.
	MeshLabel = "ristio.io/mesh"

	// ProxyRevisionAnnotation names, on a pod template, the revision whose
	// proxy its pods should run: changing it restarts them, so that the
	// revision a tag now points at injects them.
	ProxyRevisionAnnotation = "ristio.io/proxy-revision"

	// SampleNamespace holds the helloworld and curl sample.
	SampleNamespace = "sample"

	remoteSecretPrefix = "istio-remote-secret-"
	readerTokenPrefix  = "istio-reader-token-"
	readerBindPrefix   = "istio-reader-binding-"
	networkPrefix      = "network-"
)

// IstiodReleaseFor is the Helm release ristio installs revision's istiod
// as: istiod for the default revision, istiod-<revision> otherwise. An
// adopted istiod keeps istioctl's release (IstioctlRelease) instead.
func IstiodReleaseFor(revision string) string {
	if revision == "" || revision == DefaultRevision {
		return IstiodRelease
	}
	return IstiodRelease + "-" + revision
}

// IstiodDeployment is the Deployment of revision's istiod, whatever release
// made it: the istiod chart names it istiod, or istiod-<revision>.
func IstiodDeployment(revision string) string {
	if revision == "" || revision == DefaultRevision {
		return "istiod"
	}
	return "istiod-" + revision
}

// RevisionLabelValue is what Istio's charts put in RevisionLabel for
// revision: "default" for the control plane installed without one.
func RevisionLabelValue(revision string) string {
	if revision == "" {
		return DefaultRevision
	}
	return revision
}

// RemoteSecret is the name of the secret that lets a peer watch cluster.
func RemoteSecret(cluster string) string { return remoteSecretPrefix + cluster }

// ReaderTokenSecret is the long-lived reader token secret made, in
// serviceAccountSecret mode, for one watching peer: one per peer, so removing
// a peer revokes only its token.
func ReaderTokenSecret(peer string) string { return readerTokenPrefix + peer }

// ReaderTokenBinding names the object, in the watched cluster, that one
// reader token for peer is bound to: deleting it revokes that token at once.
// Each token gets its own (suffix), so a renewal revokes only the old one.
func ReaderTokenBinding(peer, suffix string) string { return readerBindPrefix + peer + "-" + suffix }

// OwnerLabelValue makes a resource ID fit a label value (63 characters of
// [A-Za-z0-9._-]); IDs that do not fit are replaced by a stable hash.
func OwnerLabelValue(id string) string {
	if len(id) <= 63 && labelValue.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:])[:32]
}

var labelValue = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

// DefaultNetwork is the network of a cluster that names none, as ristioctl does.
func DefaultNetwork(cluster string) string { return networkPrefix + cluster }

// ManagedLabels returns the labels every object ristio creates carries.
func ManagedLabels() map[string]string { return map[string]string{ManagedByLabel: ManagedByValue} }

// ValidateDNSLabel is the one rule for the names ristio puts into object
// names and Istio's settings (clusters, roots, revisions): a DNS-1123 label.
func ValidateDNSLabel(name string) error {
	if name == "" {
		return fmt.Errorf("must not be empty")
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a DNS-1123 label: %s", name, strings.Join(errs, "; "))
	}
	return nil
}
