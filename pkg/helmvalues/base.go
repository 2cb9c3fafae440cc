package helmvalues

// DefaultRevision is what the base chart calls the revision-less control plane.
const DefaultRevision = "default"

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
		"defaultRevision": def,
	}
}
