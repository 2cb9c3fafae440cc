package pki

import (
	"crypto/x509"
	"time"
)

// RenewalTime is the moment cert becomes due for renewal: the earliest of
// NotAfter-renewBefore (when renewBefore > 0), NotBefore+fraction*lifetime
// (when fraction > 0), and NotAfter itself, since an expired certificate is
// always due.
func RenewalTime(cert *x509.Certificate, renewBefore time.Duration, fraction float64) time.Time {
	due := cert.NotAfter
	if renewBefore > 0 {
		if t := cert.NotAfter.Add(-renewBefore); t.Before(due) {
			due = t
		}
	}
	if fraction > 0 {
		lifetime := cert.NotAfter.Sub(cert.NotBefore)
		if t := cert.NotBefore.Add(time.Duration(fraction * float64(lifetime))); t.Before(due) {
			due = t
		}
	}
	return due
}

// NeedsRenewal reports whether cert is due at now (see RenewalTime). A
// missing certificate is due: there is nothing to keep.
func NeedsRenewal(cert *x509.Certificate, now time.Time, renewBefore time.Duration, fraction float64) bool {
	if cert == nil {
		return true
	}
	return !now.Before(RenewalTime(cert, renewBefore, fraction))
}
