package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"strings"
	"testing"
	"time"
)

func TestKeySpecValidate(t *testing.T) {
	tests := map[string]struct {
		spec    KeySpec
		wantErr string
	}{
		"an empty spec is valid (RSA 4096)":         {spec: KeySpec{}},
		"RSA 2048 is allowed":                       {spec: KeySpec{Type: RSA, RSABits: 2048}},
		"RSA 3072 is allowed":                       {spec: KeySpec{Type: RSA, RSABits: 3072}},
		"RSA 1024 is refused":                       {spec: KeySpec{Type: RSA, RSABits: 1024}, wantErr: "unsupported RSA key size 1024"},
		"RSA 8192 is refused":                       {spec: KeySpec{Type: RSA, RSABits: 8192}, wantErr: "unsupported RSA key size 8192"},
		"ECDSA without a curve is valid (P-256)":    {spec: KeySpec{Type: ECDSA}},
		"ECDSA P-384 is allowed":                    {spec: KeySpec{Type: ECDSA, Curve: "P-384"}},
		"ECDSA P-521 is refused":                    {spec: KeySpec{Type: ECDSA, Curve: "P-521"}, wantErr: `unsupported ECDSA curve "P-521"`},
		"ECDSA ignores an RSA size set by defaults": {spec: KeySpec{Type: ECDSA, RSABits: 4096}},
		"RSA ignores a curve set by defaults":       {spec: KeySpec{Type: RSA, Curve: "P-256"}},
		"an unknown type is refused":                {spec: KeySpec{Type: "Ed25519"}, wantErr: `unsupported key type "Ed25519"`},
		"a lower-case type is refused, not guessed": {spec: KeySpec{Type: "rsa"}, wantErr: `unsupported key type "rsa"`},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			err := tc.spec.Validate()
			checkErr(t, err, tc.wantErr)
		})
	}
}

func TestGenerateKey(t *testing.T) {
	tests := map[string]struct {
		spec      KeySpec
		wantRSA   int
		wantCurve string
	}{
		"RSA 2048 gives a 2048-bit modulus": {spec: KeySpec{Type: RSA, RSABits: 2048}, wantRSA: 2048},
		"ECDSA defaults to P-256":           {spec: KeySpec{Type: ECDSA}, wantCurve: "P-256"},
		"ECDSA P-384 gives a P-384 key":     {spec: KeySpec{Type: ECDSA, Curve: "P-384"}, wantCurve: "P-384"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			key, err := GenerateKey(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			switch k := key.(type) {
			case *rsa.PrivateKey:
				if k.N.BitLen() != tc.wantRSA {
					t.Fatalf("RSA bits = %d, want %d", k.N.BitLen(), tc.wantRSA)
				}
			case *ecdsa.PrivateKey:
				if got := k.Curve.Params().Name; got != tc.wantCurve {
					t.Fatalf("curve = %s, want %s", got, tc.wantCurve)
				}
			default:
				t.Fatalf("unexpected key type %T", key)
			}
		})
	}
	if _, err := GenerateKey(KeySpec{Type: RSA, RSABits: 1024}); err == nil {
		t.Fatal("GenerateKey accepted RSA 1024")
	}
}

func TestGenerateSerialHas128BitsAndDiffers(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		s, err := generateSerial()
		if err != nil {
			t.Fatal(err)
		}
		if s.BitLen() != 128 {
			t.Fatalf("serial has %d bits, want 128", s.BitLen())
		}
		if seen[s.String()] {
			t.Fatalf("serial %s repeated", s)
		}
		seen[s.String()] = true
	}
}

func TestValidityWindow(t *testing.T) {
	withNanos := time.Date(2026, 3, 1, 12, 0, 0, 999_999_999, time.FixedZone("CET", 3600))
	tests := map[string]struct {
		notBefore time.Time
		ttl       time.Duration
		wantStart time.Time
		wantEnd   time.Time
		wantErr   string
	}{
		"the start is backdated and the lifetime is exactly the TTL": {
			notBefore: t0, ttl: 10 * time.Hour,
			wantStart: t0.Add(-5 * time.Minute), wantEnd: t0.Add(-5*time.Minute + 10*time.Hour),
		},
		"sub-second start is truncated to what X.509 stores, in UTC": {
			notBefore: withNanos, ttl: time.Hour,
			wantStart: time.Date(2026, 3, 1, 10, 55, 0, 0, time.UTC), wantEnd: time.Date(2026, 3, 1, 11, 55, 0, 0, time.UTC),
		},
		"a zero start is refused rather than read from a clock": {ttl: time.Hour, wantErr: "NotBefore is required"},
		"a negative TTL is refused":                             {notBefore: t0, ttl: -time.Hour, wantErr: "TTL must be positive"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			start, end, err := validityWindow(tc.notBefore, tc.ttl)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			if !start.Equal(tc.wantStart) || !end.Equal(tc.wantEnd) {
				t.Fatalf("window = [%s, %s], want [%s, %s]", start, end, tc.wantStart, tc.wantEnd)
			}
			if start.Location() != time.UTC {
				t.Fatalf("start is in %s, want UTC", start.Location())
			}
		})
	}
}

// checkErr fails unless err is nil when want is empty, or contains want.
func checkErr(t testing.TB, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got error %v, want one containing %q", err, want)
	}
}
