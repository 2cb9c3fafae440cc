package provider

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// meshProblems collects every bad input of a MultiClusterMesh, each naming
// the field and, where there is one, the cluster.
type meshProblems []string

func (m *meshProblems) add(field, format string, a ...any) {
	*m = append(*m, field+": "+fmt.Sprintf(format, a...))
}

func (m meshProblems) err() error {
	if len(m) == 0 {
		return nil
	}
	return fmt.Errorf("invalid MultiClusterMesh inputs:\n  - %s", strings.Join(m, "\n  - "))
}

// validateMesh checks every input that is known at construct time, before
// any child is registered, so bad input fails preview with nothing created.
func validateMesh(args MultiClusterMeshArgs, now time.Time) error {
	var problems meshProblems
	if args.MeshID == "" {
		problems.add("meshId", "must not be empty")
	}
	if len(args.Clusters) == 0 {
		problems.add("clusters", "at least one cluster is required")
	}
	if v := deref(args.IstioVersion); args.IstioVersion != nil && charts.ValidateVersion(v) != nil {
		problems.add("istioVersion", "%q is not an exact version such as %s", v, DefaultIstioVersion)
	}
	// Empty is unset: YAML programs cannot leave an input out.
	if deref(args.ChartRepository) != "" && deref(args.ChartDirectory) != "" {
		problems.add("chartRepository", "set chartRepository or chartDirectory, not both")
	}
	if deref(args.ChartRepository) != "" || deref(args.ChartDirectory) != "" {
		if err := (charts.Source{Repository: deref(args.ChartRepository), Directory: deref(args.ChartDirectory)}).Validate(); err != nil {
			problems.add("chartRepository", "%v", err)
		}
	}
	if args.Revision != nil {
		if err := naming.ValidateDNSLabel(*args.Revision); err != nil {
			problems.add("revision", "%v (it names istiod-<revision> and labels namespaces)", err)
		}
	}
	validateRevisions(&problems, args)
	if t := deref(args.TimeoutSeconds); args.TimeoutSeconds != nil && t <= 0 {
		problems.add("timeoutSeconds", "must be positive, got %d", t)
	}
	for _, f := range checkRemoteSecretOptions("", "", RemoteSecretArgs{ReaderTokenMode: args.ReaderTokenMode, ReaderTokenTTLHours: args.ReaderTokenTTLHours}) {
		problems.add(f.Property, "%s", f.Reason)
	}
	for _, f := range checkRestartPolicy("restartIstiodAfterSecretRotation", "", args.RestartIstiod) {
		problems.add(f.Property, "%s", f.Reason)
	}
	switch m := deref(args.RemoteSecrets); m {
	case "", remoteSecretsPerPair, remoteSecretsPerCluster:
	default:
		problems.add("remoteSecrets", "must be %s or %s, got %q", remoteSecretsPerPair, remoteSecretsPerCluster, m)
	}
	validateCertificate(&problems, args.Certificate, now)
	validateDataplane(&problems, args)

	names, networks := map[string]int{}, map[string]string{}
	for i, c := range args.Clusters {
		field := clusterField(i, c)
		if err := naming.ValidateDNSLabel(c.Name); err != nil {
			problems.add(field+".name", "%v", err)
		}
		if j, dup := names[c.Name]; dup {
			problems.add(field+".name", "duplicate cluster name %q, also clusters[%d]", c.Name, j)
		} else {
			names[c.Name] = i
		}
		network := clusterNetwork(c)
		if errs := validation.IsValidLabelValue(network); len(errs) > 0 {
			problems.add(field+".network", "%q is not a valid label value (it labels istio-system): %s", network, strings.Join(errs, "; "))
		}
		if other, dup := networks[network]; dup {
			problems.add(field+".network", "network %q is also used by cluster %q; each cluster needs its own network", network, other)
		} else {
			networks[network] = c.Name
		}
		if c.Kubeconfig != nil && c.KubeconfigFile != nil {
			problems.add(field+".kubeconfig", "give kubeconfig or kubeconfigFile, not both")
		} else if c.Kubeconfig == nil {
			// Contents given as an input are checked when known; a file or the
			// default loading rules can be checked now.
			conn := ClusterConnection{Name: c.Name, KubeconfigFile: c.KubeconfigFile, Context: c.Context}
			if err := conn.source().Validate(); err != nil {
				problems.add(field+".kubeconfigFile", "%v", err)
			}
		}
		if v := deref(c.IstioVersion); c.IstioVersion != nil && charts.ValidateVersion(v) != nil {
			problems.add(field+".istioVersion", "%q is not an exact version such as %s", v, DefaultIstioVersion)
		}
		for _, in := range clusterOutputs(&args.Clusters[i]) {
			if v, known := knownString(*in.value); known {
				if err := in.check(v); err != nil {
					problems.add(field+"."+in.name, "%v", err)
				}
			}
		}
		if err := checkIstiodOverrides(args.Dataplane, c.IstiodValues); err != nil {
			problems.add(field+".istiodValues", "%v", err)
		}
	}
	validateAdoption(&problems, args)
	return problems.err()
}

// clusterField names cluster i in a problem, by index and by name.
func clusterField(i int, c MeshCluster) string {
	if c.Name == "" {
		return fmt.Sprintf("clusters[%d]", i)
	}
	return fmt.Sprintf("clusters[%d] (%s)", i, c.Name)
}

// clusterOutput is a cluster input that may be another resource's output,
// so unknown at preview, with its rule.
type clusterOutput struct {
	name  string
	value *pulumi.StringInput
	check func(string) error
}

// clusterOutputs lists c's inputs that may be outputs. The kubeconfig is
// not among them: its rule needs the context too (see connection).
func clusterOutputs(c *MeshCluster) []clusterOutput {
	return []clusterOutput{
		{"remoteApiServer", &c.RemoteAPIServer, checkHTTPSURL},
		{"gatewayAddress", &c.GatewayAddress, checkAddress},
	}
}

// knownString is the value of an input given as a plain value. An output
// (from another resource, or secret) arrives as a pulumi.StringOutput.
func knownString(in pulumi.StringInput) (string, bool) {
	s, ok := in.(pulumi.String)
	return string(s), ok
}

// checkWhenKnown returns args with each cluster input that validateMesh
// could not see (an output) checked by the same rule once it resolves: a
// bad value then fails the up with the same words, and an unknown one
// previews.
func checkWhenKnown(args MultiClusterMeshArgs) MultiClusterMeshArgs {
	args.Clusters = slices.Clone(args.Clusters)
	for i := range args.Clusters {
		field := clusterField(i, args.Clusters[i])
		for _, in := range clusterOutputs(&args.Clusters[i]) {
			if *in.value == nil {
				continue
			}
			if _, known := knownString(*in.value); known {
				continue
			}
			name, check := field+"."+in.name, in.check
			*in.value = (*in.value).ToStringOutput().ApplyT(func(v string) (string, error) {
				if err := check(v); err != nil {
					var problems meshProblems
					problems.add(name, "%v", err)
					return "", problems.err()
				}
				return v, nil
			}).(pulumi.StringOutput)
		}
	}
	return args
}

// validateAdoption refuses adopt where taking a live mesh over would cost
// an outage, or could not be done exactly.
func validateAdoption(problems *meshProblems, args MultiClusterMeshArgs) {
	roots := rootEntries(args.Certificate)
	brought := len(roots) > 0 && roots[0].RootCertPEM != nil && roots[0].RootKeyPEM != nil
	for i, c := range args.Clusters {
		if !deref(c.Adopt) {
			continue
		}
		field := fmt.Sprintf("clusters[%d] (%s).adopt", i, c.Name)
		if !brought {
			problems.add(field, "needs the root the live mesh trusts: set certificate.rootCertPem and rootKeyPem (the root-cert.pem and root-key.pem ristioctl wrote). A new root would break mTLS between the clusters until every workload had a certificate from it; adopt with the old root, then rotate with certificate.roots")
		}
		if args.Revision != nil || len(args.Revisions) > 0 {
			problems.add(field, "not with revision or revisions: adopt takes over a revisionless istioctl install; add revisions in a later up")
		}
	}
}

func clusterNetwork(c MeshCluster) string {
	if n := deref(c.Network); n != "" {
		return n
	}
	return naming.DefaultNetwork(c.Name)
}

// checkAddress accepts an IP address or a DNS name.
func checkAddress(a string) error {
	if net.ParseIP(a) != nil {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(a); len(errs) > 0 {
		return fmt.Errorf("%q is neither an IP address nor a DNS name", a)
	}
	return nil
}

// validateRevisions checks revisions and defaultRevision, and that nothing
// else names a revision or version for the control planes they make.
func validateRevisions(problems *meshProblems, args MultiClusterMeshArgs) {
	if len(args.Revisions) == 0 {
		if args.DefaultRevision != nil {
			problems.add("defaultRevision", "only with revisions")
		}
		return
	}
	if args.Revision != nil {
		problems.add("revision", "not with revisions: list the revision there instead")
	}
	if args.IstioVersion != nil {
		problems.add("istioVersion", "not with revisions: each revision has its own istioVersion")
	}
	for i, c := range args.Clusters {
		if c.IstioVersion != nil {
			problems.add(fmt.Sprintf("clusters[%d] (%s).istioVersion", i, c.Name), "not with revisions: every cluster runs every revision")
		}
	}
	seen := map[string]int{}
	for i, r := range args.Revisions {
		field := fmt.Sprintf("revisions[%d]", i)
		if err := naming.ValidateDNSLabel(r.Name); err != nil {
			problems.add(field+".name", "%v", err)
		}
		if j, dup := seen[r.Name]; dup {
			problems.add(field+".name", "duplicate revision %q, also revisions[%d]", r.Name, j)
		} else {
			seen[r.Name] = i
		}
		if charts.ValidateVersion(r.IstioVersion) != nil {
			problems.add(field+".istioVersion", "%q is not an exact version such as %s", r.IstioVersion, DefaultIstioVersion)
		}
	}
	def := deref(args.DefaultRevision)
	switch _, listed := seen[def]; {
	case args.DefaultRevision == nil:
		problems.add("defaultRevision", "required with revisions: name the entry the default tag points at")
	case !listed:
		problems.add("defaultRevision", "%q is not in revisions; the revision the default tag points at cannot be removed: move defaultRevision to another entry first", def)
	}
}
