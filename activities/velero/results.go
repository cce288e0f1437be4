package velero

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/util/results"
	"go.temporal.io/sdk/activity"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// maxResultEntries caps RestoreResult.Failures and WarningsDetail; the last
// entry of a capped list is "... and N more".
const maxResultEntries = 50

// maxResultsBytes bounds the download of a restore's results (decompressed).
const maxResultsBytes = 32 << 20

// restoreResults are the per-resource messages of a finished restore.
type restoreResults struct {
	failures, warnings []string
}

// describeCommand is the velero command that shows a restore's results.
func describeCommand(restore string) string {
	return "velero restore describe " + restore + " --details"
}

// restoreDetails reads the per-resource errors and warnings of the finished
// restore r, the way velero restore describe --details does: a
// DownloadRequest of kind RestoreResults, answered by Velero's server with a
// presigned URL of the results file in the storage location, downloaded and
// deleted. It never fails: when the details cannot be read, the entry of the
// list whose count is not zero (errors first) says so and names the velero
// command that shows them.
func (a *Activities) restoreDetails(ctx context.Context, c client.Client, r *velerov1.Restore, cluster string) restoreResults {
	log := a.log(ctx)
	got, err := a.fetchRestoreResults(ctx, c, r)
	if err == nil {
		out := restoreResults{failures: resultEntries(got["errors"]), warnings: resultEntries(got["warnings"])}
		log.Info("Read the Velero restore's results", "cluster", cluster, "restore", r.Name,
			"failures", len(out.failures), "warnings", len(out.warnings))
		return out
	}
	log.Warn("Could not read the Velero restore's results", "cluster", cluster, "restore", r.Name,
		"error", err, "details", describeCommand(r.Name))
	entry := fmt.Sprintf("the restore's per-resource results could not be read (%s); run %s", failures.Message(err), describeCommand(r.Name))
	if r.Status.Errors > 0 {
		return restoreResults{failures: []string{entry}}
	}
	return restoreResults{warnings: []string{entry}}
}

// downloadRequestName is the name of the DownloadRequest of restore's
// results: the restore's name, "-results-" and the activity's attempt, cut
// to fit the 253 characters of an object name.
func downloadRequestName(ctx context.Context, restore string) string {
	attempt := int32(1)
	if activity.IsActivity(ctx) {
		attempt = max(activity.GetInfo(ctx).Attempt, 1)
	}
	suffix := "-results-" + strconv.Itoa(int(attempt))
	if len(restore)+len(suffix) > 253 {
		restore = restore[:253-len(suffix)]
	}
	return restore + suffix
}

// fetchRestoreResults creates the DownloadRequest, waits for its URL, GETs
// it and deletes the request.
func (a *Activities) fetchRestoreResults(ctx context.Context, c client.Client, r *velerov1.Restore) (map[string]results.Result, error) {
	if err := serverAvailable(ctx, c, r.Namespace); err != nil {
		return nil, err
	}
	name := downloadRequestName(ctx, r.Name)
	key := client.ObjectKey{Namespace: r.Namespace, Name: name}
	dr := &velerov1.DownloadRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.Namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Spec:       velerov1.DownloadRequestSpec{Target: velerov1.DownloadTarget{Kind: velerov1.DownloadTargetKindRestoreResults, Name: r.Name}},
	}
	wctx, cancel := context.WithTimeout(ctx, a.opts.resultsWait)
	defer cancel()
	if err := c.Create(wctx, dr); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, apiError(err, "create Velero DownloadRequest %s/%s", r.Namespace, name)
		}
		// A previous run of this attempt created it: use it, unless it
		// is for something else or its URL has expired; then replace it.
		var found velerov1.DownloadRequest
		if err := c.Get(wctx, key, &found); err != nil {
			return nil, apiError(err, "get Velero DownloadRequest %s/%s", r.Namespace, name)
		}
		if found.Spec.Target != dr.Spec.Target || (found.Status.Expiration != nil && !found.Status.Expiration.After(a.opts.Now())) {
			if err := c.Delete(wctx, &found); err != nil && !apierrors.IsNotFound(err) {
				return nil, apiError(err, "delete stale Velero DownloadRequest %s/%s", r.Namespace, name)
			}
			if err := c.Create(wctx, dr); err != nil {
				return nil, apiError(err, "create Velero DownloadRequest %s/%s", r.Namespace, name)
			}
		} else {
			dr = &found
		}
	}
	defer a.deleteDownloadRequest(ctx, c, dr)

	url, err := a.waitDownloadURL(wctx, c, key, r.Name)
	if err != nil {
		return nil, err
	}
	gctx, gcancel := context.WithTimeout(ctx, a.opts.resultsWait)
	defer gcancel()
	return a.download(gctx, url, r.Name)
}

// serverAvailable is NotReadyYet when the namespace's Velero server
// Deployment has no available replica: nobody would answer a
// DownloadRequest. A Deployment that cannot be read (another name, no
// access) is not a reason not to try.
func serverAvailable(ctx context.Context, c client.Client, ns string) error {
	u := newUnstructured(gvkDeployment)
	if err := get(ctx, c, client.ObjectKey{Namespace: ns, Name: ServerDeployment}, u); err != nil {
		return nil
	}
	if n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas"); n == 0 {
		return failures.New(failures.NotReadyYet, "velero: the Velero server (Deployment %s/%s) has no available replica to answer a DownloadRequest", ns, ServerDeployment)
	}
	return nil
}

// waitDownloadURL polls the DownloadRequest until Velero's server sets its
// status.downloadURL or ctx ends (NotReadyYet).
func (a *Activities) waitDownloadURL(ctx context.Context, c client.Client, key client.ObjectKey, restore string) (string, error) {
	poll := min(a.opts.Poll, time.Second)
	p := Progress{Step: "restore-results", Name: restore, Phase: "requested"}
	for {
		p.Polls++
		var dr velerov1.DownloadRequest
		err := get(ctx, c, key, &dr)
		switch {
		case err == nil && dr.Status.DownloadURL != "":
			return dr.Status.DownloadURL, nil
		case err != nil && ctx.Err() == nil:
			return "", apiError(err, "get Velero DownloadRequest %s/%s", key.Namespace, key.Name)
		}
		activitylog.Heartbeat(ctx, p)
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", failures.New(failures.NotReadyYet,
				"velero: DownloadRequest %s/%s got no download URL within %s (is Velero's server running and its storage location Available?)",
				key.Namespace, key.Name, a.opts.resultsWait)
		case <-t.C:
		}
	}
}

// download GETs the results file (gzipped JSON: {"errors": Result,
// "warnings": Result}) from url.
func (a *Activities) download(ctx context.Context, url, restore string) (map[string]results.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, failures.Wrap(failures.InvalidParameter, err, "velero: download URL of restore %s's results", restore)
	}
	resp, err := a.opts.httpClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, failures.New(failures.NotReadyYet, "velero: download of restore %s's results took longer than %s", restore, a.opts.resultsWait)
		}
		return nil, failures.Classify(err, "velero: download restore %s's results", restore)
	}
	defer resp.Body.Close()
	var retryAfter time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		retryAfter = time.Duration(s) * time.Second
	}
	if err := failures.FromHTTP(resp.StatusCode, retryAfter, "velero: download restore %s's results", restore); err != nil {
		return nil, err
	}
	body := bufio.NewReader(resp.Body)
	var rd io.Reader = body
	// The file is gzipped; a transport that decompressed it already
	// (Content-Encoding: gzip) hands over the JSON.
	if magic, _ := body.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, failures.Wrap(failures.InvalidParameter, err, "velero: restore %s's results are not gzip", restore)
		}
		defer gz.Close()
		rd = gz
	}
	var out map[string]results.Result
	if err := json.NewDecoder(io.LimitReader(rd, maxResultsBytes)).Decode(&out); err != nil {
		if ctx.Err() != nil {
			return nil, failures.New(failures.NotReadyYet, "velero: download of restore %s's results took longer than %s", restore, a.opts.resultsWait)
		}
		return nil, failures.Wrap(failures.InvalidParameter, err, "velero: decode restore %s's results", restore)
	}
	return out, nil
}

// deleteDownloadRequest deletes the request (best effort: Velero's server
// deletes expired ones too).
func (a *Activities) deleteDownloadRequest(ctx context.Context, c client.Client, dr *velerov1.DownloadRequest) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
	defer cancel()
	if err := c.Delete(dctx, dr); err != nil && !apierrors.IsNotFound(err) {
		a.log(ctx).Warn("Could not delete the Velero DownloadRequest", "downloadRequest", dr.Namespace+"/"+dr.Name, "error", err)
	}
}

// resultEntries flattens a Result the way velero restore describe prints
// it: Velero's own messages, the cluster-scoped ones, then each namespace's
// (namespaces sorted), capped at maxResultEntries.
func resultEntries(r results.Result) []string {
	var out []string
	for _, m := range r.Velero {
		out = append(out, "velero: "+m)
	}
	for _, m := range r.Cluster {
		out = append(out, "cluster: "+m)
	}
	nss := make([]string, 0, len(r.Namespaces))
	for ns := range r.Namespaces {
		nss = append(nss, ns)
	}
	slices.Sort(nss)
	for _, ns := range nss {
		for _, m := range r.Namespaces[ns] {
			out = append(out, "namespace "+ns+": "+m)
		}
	}
	return capEntries(out)
}

// capEntries keeps at most maxResultEntries entries, the last one saying
// how many were left out.
func capEntries(entries []string) []string {
	if len(entries) <= maxResultEntries {
		return entries
	}
	kept := entries[:maxResultEntries-1]
	return append(kept, fmt.Sprintf("... and %d more", len(entries)-len(kept)))
}
