package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// MinTokenTTL is the shortest lifetime the TokenRequest API grants.
const MinTokenTTL = 10 * time.Minute

// RequestToken mints a bearer token for the service account through the
// TokenRequest API. ttl 0 takes the API server's default (one hour); the
// server may also shorten a ttl to its --service-account-max-token-expiration,
// so use the returned expiry, not ttl.
func (c *Client) RequestToken(ctx context.Context, ns, sa string, ttl time.Duration) (string, time.Time, error) {
	var spec authenticationv1.TokenRequestSpec
	if ttl != 0 {
		var err error
		if spec, err = expiringIn(ns, sa, ttl); err != nil {
			return "", time.Time{}, err
		}
	}
	token, expires, err := c.createToken(ctx, ns, sa, spec)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request token for service account %s: %w", ref(ns, sa), err)
	}
	return token, expires, nil
}

// RequestBoundToken is RequestToken for a token bound to a Secret of its
// own, binding, created here in ns (labelled with labels): the token works
// only while that Secret exists, so deleting it (DeleteSecret) revokes the
// token at once, long before it expires. If no token can be had, the Secret
// is deleted again. ttl must be given.
func (c *Client) RequestBoundToken(ctx context.Context, ns, sa string, ttl time.Duration, binding string, labels, annotations map[string]string) (string, time.Time, error) {
	spec, err := expiringIn(ns, sa, ttl)
	if err != nil {
		return "", time.Time{}, err
	}
	secrets := c.kube.CoreV1().Secrets(ns)
	anchor, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: binding, Namespace: ns, Labels: labels, Annotations: annotations},
		Type:       corev1.SecretTypeOpaque,
	}, metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create secret %s to bind a token to: %w", ref(ns, binding), err)
	}
	spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: anchor.Name, UID: anchor.UID}
	token, expires, err := c.createToken(ctx, ns, sa, spec)
	if err != nil {
		// Nothing is left half-made; the create above succeeded, so this
		// delete is the only write to undo.
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = secrets.Delete(undo, binding, metav1.DeleteOptions{})
		cancel()
		return "", time.Time{}, fmt.Errorf("request token for service account %s bound to secret %s: %w", ref(ns, sa), binding, err)
	}
	return token, expires, nil
}

// expiringIn is the spec of a token that lives ttl, at least MinTokenTTL.
func expiringIn(ns, sa string, ttl time.Duration) (authenticationv1.TokenRequestSpec, error) {
	if ttl < MinTokenTTL {
		return authenticationv1.TokenRequestSpec{}, fmt.Errorf("request token for service account %s: ttl %s is shorter than the minimum %s", ref(ns, sa), ttl, MinTokenTTL)
	}
	secs := int64(ttl / time.Second)
	return authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}, nil
}

// createToken sends one TokenRequest for the service account.
func (c *Client) createToken(ctx context.Context, ns, sa string, spec authenticationv1.TokenRequestSpec) (string, time.Time, error) {
	resp, err := c.kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, err
	}
	if resp.Status.Token == "" {
		return "", time.Time{}, errors.New("the API server returned no token")
	}
	return resp.Status.Token, resp.Status.ExpirationTimestamp.Time, nil
}

// ServiceAccountSecretToken returns the long-lived token of the service
// account from the secret secretName, as istioctl create-remote-secret does:
// it waits for the service account, creates the secret (type
// kubernetes.io/service-account-token, annotated with the service account,
// labelled managed-by ristio) when absent, and waits for the
// controller-manager's token controller to fill in its token. A secret of
// that name made for something else is an error.
func (c *Client) ServiceAccountSecretToken(ctx context.Context, ns, sa, secretName string, progress Progress) (string, error) {
	if err := c.WaitForServiceAccount(ctx, ns, sa, progress); err != nil {
		return "", err
	}
	secrets := c.kube.CoreV1().Secrets(ns)
	var token string
	err := poll(ctx, "token in secret "+ref(ns, secretName), progress, func(ctx context.Context) (bool, string, error) {
		s, err := secrets.Get(ctx, secretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			// Absent at first, or deleted by the token controller because
			// the service account it named was replaced: (re)create it.
			_, err = secrets.Create(ctx, saTokenSecret(ns, sa, secretName), metav1.CreateOptions{FieldManager: FieldManager})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return false, "", fmt.Errorf("create secret: %w", err)
			}
			return false, "secret created, token not filled in yet", nil
		}
		if err != nil {
			return false, "", err
		}
		if s.Type != corev1.SecretTypeServiceAccountToken {
			return false, "", permanent(fmt.Errorf("secret exists with type %s, not %s", s.Type, corev1.SecretTypeServiceAccountToken))
		}
		if got := s.Annotations[corev1.ServiceAccountNameKey]; got != sa {
			return false, "", permanent(fmt.Errorf("secret exists for service account %q, not %q", got, sa))
		}
		token = string(s.Data[corev1.ServiceAccountTokenKey])
		return token != "", "token not filled in yet", nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

func saTokenSecret(ns, sa, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      naming.ManagedLabels(),
			Annotations: map[string]string{corev1.ServiceAccountNameKey: sa},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
}
