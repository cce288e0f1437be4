package fakeworld

import (
	"context"
	"net/url"
	"strings"

	"github.com/cutover-dev/cutover/activities/kube"
)

// FindBlueReferences implements the kube activity: green's one object
// still naming blue is ConfigMap monitoring/prometheus-remote-write, whose
// key "url" is a remote-write URL with blue's endpoint host as its cluster
// label. Without an endpoint in the input nothing matches.
func (a *Activities) FindBlueReferences(_ context.Context, in kube.FindBlueReferencesInput) (kube.FindBlueReferencesResult, error) {
	if err := a.w.record("FindBlueReferences", in); err != nil {
		return kube.FindBlueReferencesResult{}, err
	}
	res := kube.FindBlueReferencesResult{References: []kube.BlueReference{}, Scanned: 1}
	host := in.Blue.Endpoint
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Hostname() == "" {
		return res, nil
	}
	value := "https://metrics.example.com/api/v1/push?cluster=" + u.Hostname()
	excerpt := value
	if len(excerpt) > 80 {
		excerpt = "…push?cluster=" + u.Hostname()
	}
	res.References = append(res.References, kube.BlueReference{
		Object:   "v1 ConfigMap monitoring/prometheus-remote-write",
		Field:    "data.url",
		Match:    kube.BlueMatchEndpoint,
		Excerpt:  excerpt,
		Category: kube.BlueRefMonitoring,
		Fix:      "Update the remote-write URL's cluster label or target to green's endpoint instead of blue's API endpoint, so green's metrics are not filed under blue.",
	})
	return res, nil
}
