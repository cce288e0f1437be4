package clusters

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/failures"
)

// NewScheme returns a scheme with the types of every add function.
func NewScheme(add ...func(*runtime.Scheme) error) (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, f := range add {
		if err := f(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NewControllerClient builds a controller-runtime client with scheme s from
// a copy of cfg, with a client side rate limit of 20 QPS (burst 40) and the
// user agent "cutover" unless cfg sets them.
func NewControllerClient(cfg *rest.Config, s *runtime.Scheme) (client.Client, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = 20
		cfg.Burst = 40
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cutover"
	}
	return client.New(cfg, client.Options{Scheme: s})
}

// APIError maps an error of a cluster's apiserver to cutover's failure
// types, with the message format and args. An error that already has a
// failure type is returned as is; a NoMatch error (the kind is unknown to the
// apiserver) is NotFound and asks whether the CRDs of crds ("Argo CD",
// "Velero") are installed.
func APIError(err error, crds string, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if failures.TypeOf(err) != "" {
		return err
	}
	switch {
	case meta.IsNoMatchError(err):
		return failures.Wrap(failures.NotFound, err, format+" (are the "+crds+" CRDs installed?)", args...)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return failures.Wrap(failures.AccessDenied, err, format, args...)
	case apierrors.IsTooManyRequests(err):
		return failures.Wrap(failures.Throttled, err, format, args...)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return failures.Wrap(failures.InvalidParameter, err, format, args...)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
