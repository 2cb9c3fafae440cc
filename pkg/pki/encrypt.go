package pki

import (
	"bytes"
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"

	"go.step.sm/crypto/pemutil"
)

// EncryptKey returns key as encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY",
// PBES2 with PBKDF2 and AES-256-CBC), which ParseCA and openssl both read.
// It replaces ristioctl's `password` option for exporting the root key.
func EncryptKey(key crypto.Signer, password []byte) ([]byte, error) {
	if key == nil {
		return nil, errors.New("encrypting key: no key")
	}
	if len(password) == 0 {
		return nil, errors.New("encrypting key: password is empty")
	}
	block, err := pemutil.Serialize(key, pemutil.WithPKCS8(true), pemutil.WithPassword(password))
	if err != nil {
		return nil, fmt.Errorf("encrypting key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// encodeKey returns key as unencrypted PKCS#8 PEM, one of the forms istiod
// reads from ca-key.pem.
func encodeKey(key crypto.Signer) ([]byte, error) {
	block, err := pemutil.Serialize(key, pemutil.WithPKCS8(true))
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// decodeKey reads one private key block, decrypting it with password when it
// is encrypted. It never prompts: pemutil would fall back to a global
// terminal prompt when no password is given, so that case is refused first.
func decodeKey(keyPEM, password []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("no PEM-encoded private key found")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("expected a single PEM block")
	}
	plainType := block.Type
	encrypted := block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] == "4,ENCRYPTED"
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		plainType = "PRIVATE KEY"
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
	default:
		return nil, fmt.Errorf("unexpected PEM block %q, want a private key", block.Type)
	}
	der := block.Bytes
	if encrypted {
		if len(password) == 0 {
			return nil, errors.New("the key is encrypted: a password is required")
		}
		var err error
		if der, err = pemutil.DecryptPEMBlock(block, password); err != nil {
			return nil, fmt.Errorf("decrypting: wrong password or damaged key: %w", err)
		}
	}
	parsed, err := pemutil.ParseKey(pem.EncodeToMemory(&pem.Block{Type: plainType, Bytes: der}))
	if err != nil {
		if encrypted {
			// Padding checks miss some wrong passwords; the parse catches them.
			return nil, fmt.Errorf("decrypting: wrong password or damaged key: %w", err)
		}
		return nil, err
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T is not a signing key", parsed)
	}
	return key, nil
}
