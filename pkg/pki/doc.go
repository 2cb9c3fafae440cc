// Package pki builds the certificate authorities of a multi-cluster Istio
// mesh: a root CA, one intermediate CA per cluster, and the cacerts bundle
// istiod reads its signing CA from. It also adopts a root the user brings,
// encrypts keys for export, and decides when a certificate is due for renewal.
//
// Everything happens in memory: no files, no cluster, and no clock. Callers
// pass the current time in, so results depend only on the inputs (and on the
// randomness of keys and serial numbers).
package pki
