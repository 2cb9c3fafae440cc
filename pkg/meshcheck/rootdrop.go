package meshcheck

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/pki"
)

// LiveTrust is what one cluster of the mesh holds, read before a step that
// drops a root.
type LiveTrust struct {
	Cluster string
	// CACerts is the live cacerts secret's data; nil when there is none.
	CACerts map[string][]byte
	// Istiods is what each running istiod pod serves on 15012.
	Istiods []Serving
	// Problem is why the cluster could not be read: it cannot be shown
	// ready, so it lags.
	Problem string
}

// Serving is the certificate chain one istiod pod presented on 15012, or why
// it presented none.
type Serving struct {
	Pod   string
	Chain []*x509.Certificate
	Err   error
}

// Lag is one cluster that is not ready for a root to be dropped, and why.
type Lag struct{ Cluster, Reason string }

func (l Lag) String() string { return l.Cluster + " (" + l.Reason + ")" }

// DropLag lists the clusters not ready for the mesh to stop trusting the
// roots it drops; kept is root-cert.pem after the drop. A cluster is ready
// when its live cacerts trusts every kept root and its intermediate chains
// to one of them, and every istiod pod serves a certificate that chains to
// one of them (it has loaded that cacerts). Otherwise its workloads hold, or
// are still issued, certificates that the others are about to stop trusting.
// A cluster with neither cacerts nor istiod has issued nothing and is ready.
func DropLag(kept []byte, clusters []LiveTrust, now time.Time) []Lag {
	var lags []Lag
	for _, c := range clusters {
		if c.Problem != "" {
			lags = append(lags, Lag{c.Cluster, "cannot be read: " + c.Problem})
			continue
		}
		reasons := cacertsLag(kept, c.CACerts, now)
		for _, s := range c.Istiods {
			if r := servingLag(kept, s, now); r != "" {
				reasons = append(reasons, r)
			}
		}
		if len(reasons) > 0 {
			lags = append(lags, Lag{c.Cluster, strings.Join(reasons, "; ")})
		}
	}
	return lags
}

// cacertsLag is why a live cacerts is not ready for the drop.
func cacertsLag(kept []byte, data map[string][]byte, now time.Time) []string {
	if data == nil {
		return nil
	}
	var reasons []string
	missing, err := pki.DroppedRoots(kept, data[pki.RootCertFile])
	switch {
	case err != nil:
		reasons = append(reasons, "its cacerts "+pki.RootCertFile+" cannot be read: "+err.Error())
	case len(missing) > 0:
		reasons = append(reasons, "its cacerts "+pki.RootCertFile+" does not trust "+pki.DescribeRoots(missing)+" yet")
	}
	certs, err := pki.Certificates(data[pki.CACertFile])
	if err != nil {
		return append(reasons, "its cacerts "+pki.CACertFile+" cannot be read: "+err.Error())
	}
	chain, _ := pki.Certificates(data[pki.CertChainFile]) // optional links; a bad chain shows as a failed verify
	if err := pki.VerifyChain(certs[0], chain, kept, now); err != nil {
		reasons = append(reasons, fmt.Sprintf("its cacerts intermediate %q is not issued by a root that stays: %v", certs[0].Subject.String(), err))
	}
	return reasons
}

// servingLag is why one istiod pod is not ready for the drop, or "".
func servingLag(kept []byte, s Serving, now time.Time) string {
	switch {
	case s.Err != nil:
		return fmt.Sprintf("istiod pod %s could not be asked which certificate it serves on %d: %v", s.Pod, XDSTLSPort, s.Err)
	case len(s.Chain) == 0:
		return fmt.Sprintf("istiod pod %s served no certificate on %d", s.Pod, XDSTLSPort)
	}
	if err := pki.VerifyChain(s.Chain[0], s.Chain[1:], kept, now); err != nil {
		return fmt.Sprintf("istiod pod %s still serves on %d a certificate that no root that stays signs (it has not loaded the new intermediate): %v", s.Pod, XDSTLSPort, err)
	}
	return ""
}
