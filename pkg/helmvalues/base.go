package helmvalues

import "github.com/ristio/pulumi-ristio/pkg/naming"

// DefaultRevision is what the base chart calls the revision-less control plane.
const DefaultRevision = naming.DefaultRevision

// BaseDefaultRevisionKey is the base chart value naming the revision whose
// istiod validates Istio configuration (istiod-default-validator).
const BaseDefaultRevisionKey = "defaultRevision"

// Base returns the values for Istio's base chart (CRDs, the reader service
// account and the default-revision validating webhook).
//
// The default-revision webhook ("istiod-default-validator") is pointed at
// revision's istiod Service: istiod-<revision>, or istiod when revision is
// empty.
func Base(revision string) map[string]any {
	def := revision
	if def == "" {
		def = DefaultRevision
	}
	return map[string]any{
		BaseDefaultRevisionKey: def,
	}
}
