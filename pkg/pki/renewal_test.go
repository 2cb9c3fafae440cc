package pki

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestNeedsRenewal(t *testing.T) {
	day := 24 * time.Hour
	at := func(d, h int) time.Time { return time.Date(2026, 1, d, h, 0, 0, 0, time.UTC) }
	// Ten days of life: January 1st to January 11th, both at midnight.
	cert := &x509.Certificate{NotBefore: at(1, 0), NotAfter: at(11, 0)}

	tests := map[string]struct {
		now         time.Time
		renewBefore time.Duration
		fraction    float64
		want        bool
	}{
		"two days before a 2-day window opens it is not due":    {now: at(7, 0), renewBefore: 2 * day, want: false},
		"one second before the window it is not due":            {now: at(9, 0).Add(-time.Second), renewBefore: 2 * day, want: false},
		"exactly NotAfter minus renewBefore it is due":          {now: at(9, 0), renewBefore: 2 * day, want: true},
		"inside the window it is due":                           {now: at(10, 0), renewBefore: 2 * day, want: true},
		"one second before 80% of the lifetime it is not due":   {now: at(9, 0).Add(-time.Second), fraction: 0.8, want: false},
		"at 80% of the lifetime it is due":                      {now: at(9, 0), fraction: 0.8, want: true},
		"at half the lifetime with fraction 0.5 it is due":      {now: at(6, 0), fraction: 0.5, want: true},
		"with both set the earlier trigger wins (fraction)":     {now: at(6, 0), renewBefore: 12 * time.Hour, fraction: 0.5, want: true},
		"with both set the earlier trigger wins (renewBefore)":  {now: at(3, 0), renewBefore: 8 * day, fraction: 0.9, want: true},
		"with both set before either trigger it is not due":     {now: at(5, 0), renewBefore: 2 * day, fraction: 0.8, want: false},
		"with neither set a valid certificate is not due":       {now: at(10, 23), want: false},
		"with neither set an expired certificate is due":        {now: at(11, 0), want: true},
		"a fraction above 1 still renews at expiry":             {now: at(11, 0), fraction: 1.5, want: true},
		"a fraction above 1 does not renew before expiry":       {now: at(10, 0), fraction: 1.5, want: false},
		"a renewBefore longer than the lifetime is due at once": {now: at(1, 0), renewBefore: 20 * day, want: true},
		"an expired certificate is due whatever the settings":   {now: at(12, 0), renewBefore: time.Hour, fraction: 0.99, want: true},
		"a negative renewBefore is ignored":                     {now: at(10, 0), renewBefore: -5 * day, want: false},
		"a negative fraction is ignored":                        {now: at(10, 0), fraction: -1, want: false},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			if got := NeedsRenewal(cert, tc.now, tc.renewBefore, tc.fraction); got != tc.want {
				t.Fatalf("NeedsRenewal(now=%s, renewBefore=%s, fraction=%v) = %v, want %v",
					tc.now, tc.renewBefore, tc.fraction, got, tc.want)
			}
		})
	}
}

func TestNeedsRenewalWithoutCertificate(t *testing.T) {
	if !NeedsRenewal(nil, t0, time.Hour, 0.8) {
		t.Fatal("a missing certificate is not due")
	}
}

func TestRenewalTime(t *testing.T) {
	cert := &x509.Certificate{
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	tests := map[string]struct {
		renewBefore time.Duration
		fraction    float64
		want        time.Time
	}{
		"renewBefore 30 days is 30 days before expiry":      {renewBefore: 30 * 24 * time.Hour, want: time.Date(2035, 12, 2, 0, 0, 0, 0, time.UTC)},
		"fraction 0.5 of ten years (3652 days) is day 1826": {fraction: 0.5, want: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
		"nothing set means expiry":                          {want: cert.NotAfter},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			got := RenewalTime(cert, tc.renewBefore, tc.fraction)
			if d := got.Sub(tc.want).Abs(); d > time.Microsecond {
				t.Fatalf("RenewalTime = %s, want %s", got, tc.want)
			}
		})
	}
}
