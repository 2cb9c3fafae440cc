package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"slices"
	"strings"
	"testing"

	"go.step.sm/crypto/keyutil"
)

func TestEncryptKey(t *testing.T) {
	rsaKey, err := GenerateKey(KeySpec{Type: RSA, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := GenerateKey(ecP256)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		key crypto.Signer
	}{
		"an RSA key":   {key: rsaKey},
		"an ECDSA key": {key: ecKey},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			enc, err := EncryptKey(tc.key, []byte("correct horse"))
			if err != nil {
				t.Fatal(err)
			}
			if got := pemTypes(enc); !slices.Equal(got, []string{"ENCRYPTED PRIVATE KEY"}) {
				t.Fatalf("blocks = %q, want one ENCRYPTED PRIVATE KEY", got)
			}
			plain, _ := x509.MarshalPKCS8PrivateKey(tc.key)
			if bytes.Contains(enc, plain) {
				t.Fatal("the encrypted PEM contains the plain key")
			}

			key, err := decodeKey(enc, []byte("correct horse"))
			if err != nil {
				t.Fatalf("decrypting with the right password: %v", err)
			}
			if !keyutil.Equal(key, tc.key) {
				t.Fatal("decrypted key differs from the original")
			}
			for _, wrong := range []string{"Correct horse", "x"} {
				if _, err := decodeKey(enc, []byte(wrong)); err == nil || !strings.Contains(err.Error(), "wrong password") {
					t.Fatalf("password %q: got %v, want a wrong-password error", wrong, err)
				}
			}
			if _, err := decodeKey(enc, nil); err == nil {
				t.Fatal("decrypted without a password")
			}

			// OpenSSL reads it with the password, and not without.
			dir := writeFiles(t, map[string][]byte{"enc.pem": enc})
			out, err := openssl(t, dir, "pkey", "-in", "enc.pem", "-passin", "pass:correct horse", "-noout")
			if err != nil {
				t.Fatalf("openssl could not decrypt: %v\n%s", err, out)
			}
			if out, err := openssl(t, dir, "pkey", "-in", "enc.pem", "-passin", "pass:wrong", "-noout"); err == nil {
				t.Fatalf("openssl decrypted with a wrong password\n%s", out)
			}
		})
	}
}

func TestEncryptKeyRefuses(t *testing.T) {
	key, err := GenerateKey(ecP256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncryptKey(key, nil); err == nil || !strings.Contains(err.Error(), "password is empty") {
		t.Fatalf("empty password: got %v", err)
	}
	if _, err := EncryptKey(nil, []byte("pw")); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("nil key: got %v", err)
	}
}
