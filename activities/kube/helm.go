package kube

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/internal/finding"
)

// HelmReleaseSecretType is the type of the Secrets Helm 3 stores releases in.
const HelmReleaseSecretType = "helm.sh/release.v1"

// HelmRelease is the part of a Helm 3 release record the scan reads.
type HelmRelease struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   int    `json:"version"`
	Info      struct {
		Status string `json:"status"`
	} `json:"info"`
	Chart struct {
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
	} `json:"chart"`
	Manifest string     `json:"manifest"`
	Hooks    []HelmHook `json:"hooks"`
}

// HelmHook is a hook of a Helm release: Helm keeps hook manifests apart
// from the release manifest and runs them again from the stored release
// (helm test, rollback, uninstall).
type HelmHook struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Path     string   `json:"path"`
	Manifest string   `json:"manifest"`
	Events   []string `json:"events"`
}

// ManifestObject is one object a release manifest declares: a document,
// or an item of a List document.
type ManifestObject struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Source is the template path from Helm's "# Source:" comment.
	Source string
	// Item is the object's path inside a List document ("items[2]",
	// "items[0].items[1]"), empty for a document of its own.
	Item string
}

// BadDocument is a document of a manifest that could not be read; the
// documents after it are still read.
type BadDocument struct {
	// Index is the document's position in the manifest, from 1.
	Index  int
	Source string
	Err    string
}

func (b BadDocument) String() string {
	where := fmt.Sprintf("document %d", b.Index)
	if b.Source != "" {
		where += " (template " + b.Source + ")"
	}
	return where + ": " + b.Err
}

// DecodeHelmRelease decodes the "release" value of a helm.sh/release.v1
// Secret (as client-go returns it, i.e. after the Secret's own base64):
// base64, then gzip (Helm always compresses; plain JSON is accepted too),
// then JSON.
func DecodeHelmRelease(data []byte) (*HelmRelease, error) {
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(raw, data)
	if err != nil {
		return nil, fmt.Errorf("helm release: base64: %w", err)
	}
	raw = raw[:n]
	var r io.Reader = bytes.NewReader(raw)
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("helm release: gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	var rel HelmRelease
	if err := json.NewDecoder(r).Decode(&rel); err != nil {
		return nil, fmt.Errorf("helm release: json: %w", err)
	}
	return &rel, nil
}

// EncodeHelmRelease is the inverse of DecodeHelmRelease (as Helm's secret
// driver writes it); tests and the sandbox use it to seed releases.
func EncodeHelmRelease(rel any) ([]byte, error) {
	js, err := json.Marshal(rel)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(buf.Len()))
	base64.StdEncoding.Encode(out, buf.Bytes())
	return out, nil
}

// ManifestObjects splits a multi-document release manifest and reads each
// object's apiVersion, kind, name and template path; the items of a List
// document (kind List, or any kind ending in List with items, as kubectl
// and Helm's kube client accept) are objects of their own. A document that
// does not decode is returned in bad and the scan goes on with the next.
func ManifestObjects(manifest string) (objs []ManifestObject, bad []BadDocument) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for index := 1; ; index++ {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return objs, bad
		}
		if err != nil { // the reader only fails on its input, a string
			return objs, append(bad, BadDocument{Index: index, Err: err.Error()})
		}
		src := ""
		for _, line := range strings.Split(string(doc), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source:"); ok {
				src = strings.TrimSpace(s)
				break
			}
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			bad = append(bad, BadDocument{Index: index, Source: src, Err: err.Error()})
			continue
		}
		found, err := declaredObjects(js)
		if err != nil {
			bad = append(bad, BadDocument{Index: index, Source: src, Err: err.Error()})
		}
		for _, o := range found {
			o.Source = src
			objs = append(objs, o)
		}
	}
}

// maxListDepth bounds how deep Lists inside Lists are followed.
const maxListDepth = 4

// declaredObjects reads the object a JSON manifest declares or, for a
// List, the objects of its items (recursively). An empty or comment-only
// document declares nothing. Items that do not decode are skipped and
// named in the error; the others are returned.
func declaredObjects(js []byte) ([]ManifestObject, error) {
	var out []ManifestObject
	var errs []error
	var walk func(raw json.RawMessage, path string, depth int)
	walk = func(raw json.RawMessage, path string, depth int) {
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return
		}
		var h struct {
			lastAppliedHeader
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			if path == "" {
				errs = append(errs, err)
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
			}
			return
		}
		if h.APIVersion == "" && h.Kind == "" {
			return
		}
		if isListKind(h.Kind) && (h.Items != nil || h.Kind == "List") {
			if depth >= maxListDepth {
				errs = append(errs, fmt.Errorf("%s: Lists nested more than %d deep are not read", orRoot(path), maxListDepth))
				return
			}
			for i, it := range h.Items {
				walk(it, strings.TrimPrefix(fmt.Sprintf("%s.items[%d]", path, i), "."), depth+1)
			}
			return
		}
		out = append(out, ManifestObject{APIVersion: h.APIVersion, Kind: h.Kind, Name: h.Metadata.Name, Namespace: h.Metadata.Namespace, Item: path})
	}
	walk(js, "", 0)
	return out, errors.Join(errs...)
}

func isListKind(kind string) bool {
	return kind == "List" || (len(kind) > 4 && strings.HasSuffix(kind, "List"))
}

func orRoot(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

// Helm release storage: Secrets (the default driver), ConfigMaps
// (HELM_DRIVER=configmap), both labelled owner=helm.
const (
	HelmStorageSecret    = "Secret"
	HelmStorageConfigMap = "ConfigMap"
)

// helmLive is the status of the one revision of a release that is live;
// the others (superseded, failed, pending-*) are history: their manifests
// matter to a rollback, not to what runs.
const helmLive = "deployed"

// helmScan is the state of the helm-releases step: the objects each
// release's deployed revision declares, and the removed APIs other
// revisions declare, reported at the end when the deployed revision does
// not declare the same object (that one is already an error).
type helmScan struct {
	live    map[string]map[string]bool // release -> objects of the deployed revision
	history map[string]*helmHistory    // release + object -> finding
	order   []string
}

type helmHistory struct {
	release   string
	object    string
	finding   finding.Finding
	revisions []string
}

// helmReleases decodes every revision of every Helm release, stored in
// Secrets or ConfigMaps, and reports the removed APIs their manifests and
// hooks declare: the deployed revision's as what runs, the others
// separately as history. Releases hold whole manifests, so they are paged
// in small pages, each released before the next. The SQL driver keeps
// releases outside the cluster: an info finding says they were not read.
func (p *preflight) helmReleases(ctx context.Context) error {
	hs := &helmScan{live: map[string]map[string]bool{}, history: map[string]*helmHistory{}}
	secrets := func(ctx context.Context, o metav1.ListOptions) ([]corev1.Secret, string, error) {
		l, err := p.c.Kube.CoreV1().Secrets("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}
	err := eachPage(ctx, p.a.opts.helmPageSize, metav1.ListOptions{FieldSelector: "type=" + HelmReleaseSecretType},
		retriedPage(p.a, "list Helm release Secrets of "+p.in.Cluster.Name, secrets), func(page []corev1.Secret) error {
			for i := range page {
				s := &page[i]
				if s.Type != HelmReleaseSecretType {
					continue
				}
				p.scanned++
				p.checkHelmRelease(hs, HelmStorageSecret, s.Namespace+"/"+s.Name, s.Labels["status"], s.Data["release"])
				page[i].Data = nil // release the manifest before the next one is decoded
			}
			p.beat(ctx, Progress{Step: "helm-releases", Objects: p.scanned, Detail: "secrets"})
			return nil
		})
	if err != nil {
		return err
	}
	configMaps := func(ctx context.Context, o metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
		l, err := p.c.Kube.CoreV1().ConfigMaps("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}
	err = eachPage(ctx, p.a.opts.helmPageSize, metav1.ListOptions{LabelSelector: "owner=helm"},
		retriedPage(p.a, "list Helm release ConfigMaps of "+p.in.Cluster.Name, configMaps), func(page []corev1.ConfigMap) error {
			for i := range page {
				cm := &page[i]
				rel, ok := cm.Data["release"]
				if !ok || !strings.HasPrefix(cm.Name, "sh.helm.release.v1.") {
					continue
				}
				p.scanned++
				p.checkHelmRelease(hs, HelmStorageConfigMap, cm.Namespace+"/"+cm.Name, cm.Labels["status"], []byte(rel))
				page[i].Data = nil
			}
			p.beat(ctx, Progress{Step: "helm-releases", Objects: p.scanned, Detail: "configmaps"})
			return nil
		})
	if err != nil {
		return err
	}
	for _, key := range hs.order {
		h := hs.history[key]
		if hs.live[h.release][h.object] {
			continue // the deployed revision declares it too: reported as live
		}
		f := h.finding
		f.Message = fmt.Sprintf("not live: only in revision(s) %s of Helm release %s, not in its deployed revision; a helm rollback to one of them fails at the target. %s",
			strings.Join(h.revisions, ", "), h.release, f.Message)
		p.found.add(f)
	}
	p.found.add(finding.Finding{Check: CheckHelmSQLNotScanned, Severity: finding.Info, Source: SourceHelm,
		Message: "Helm releases stored by the SQL driver (HELM_DRIVER=sql) live in a database outside the cluster and were not scanned; releases in Secrets and ConfigMaps were",
		Fix:     "If some releases use the SQL driver, check their manifests against the target with `helm get manifest` and `helm get hooks` (e.g. piped to pluto detect -)."})
	return nil
}

// checkHelmRelease reports the removed APIs of one stored revision: its
// manifest and its hooks. statusLabel is the storage object's status
// label, the release record's own status when missing.
func (p *preflight) checkHelmRelease(hs *helmScan, storage, ref, statusLabel string, data []byte) {
	storageRef := strings.ToLower(storage) + " " + ref
	if statusLabel == "uninstalled" || statusLabel == "uninstalling" {
		return // kept with --keep-history: nothing of it runs or rolls back
	}
	rel, err := DecodeHelmRelease(data)
	if err != nil {
		p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceHelm,
			Object:  "v1 " + storage + " " + ref,
			Message: fmt.Sprintf("could not decode Helm release %s %s: %v", strings.ToLower(storage), ref, err),
			Fix:     "Check the release with `helm history`; a release Helm itself cannot read must be repaired or deleted before the migration."})
		return
	}
	status := statusLabel
	if status == "" {
		status = rel.Info.Status
	}
	live := status == helmLive
	release := rel.Namespace + "/" + rel.Name
	chart := rel.Chart.Metadata.Name
	if rel.Chart.Metadata.Version != "" {
		chart += "-" + rel.Chart.Metadata.Version
	}
	revision := fmt.Sprintf("Helm release %s revision %d (%s, chart %s, %s)", release, rel.Version, status, chart, storageRef)

	type part struct {
		where    string // "template x" or "hook y (events ...)"
		manifest string
		path     string
	}
	parts := []part{{manifest: rel.Manifest}}
	for _, h := range rel.Hooks {
		parts = append(parts, part{where: fmt.Sprintf("hook %s (%s, events %s)", h.Name, h.Path, strings.Join(h.Events, ",")), manifest: h.Manifest, path: h.Path})
	}
	for _, pt := range parts {
		objs, bad := ManifestObjects(pt.manifest)
		if len(bad) > 0 && live {
			var docs []string
			for _, b := range bad {
				docs = append(docs, b.String())
			}
			what := "manifest"
			if pt.where != "" {
				what = pt.where
			}
			p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceHelm,
				Object:  "v1 " + storage + " " + ref,
				Message: fmt.Sprintf("%s: %s has documents that could not be read (%s); the documents after them were scanned", revision, what, strings.Join(docs, "; ")),
				Fix:     "Render the chart (helm get manifest) and fix the template: Helm itself fails on such a manifest at the next upgrade."})
		}
		for _, o := range objs {
			if live {
				if hs.live[release] == nil {
					hs.live[release] = map[string]bool{}
				}
				hs.live[release][o.APIVersion+" "+o.Kind+" "+o.Namespace+"/"+o.Name] = true
			}
			r, ok := p.relevant(o.APIVersion, o.Kind)
			if !ok {
				continue
			}
			ns := o.Namespace
			if ns == "" {
				ns = rel.Namespace
			}
			name := o.Name
			if ns != "" {
				name = ns + "/" + o.Name
			}
			where := pt.where
			if where == "" {
				where = "template " + o.Source
			} else if o.Source != "" && o.Source != pt.path {
				where += " template " + o.Source
			}
			if o.Item != "" {
				where += ", " + o.Item + " of a List"
			}
			object := fmt.Sprintf("%s %s %s", o.APIVersion, o.Kind, name)
			f := p.removedFinding(r, SourceHelm, object, revision+", "+where)
			f.Fix = fmt.Sprintf("Upgrade release %s to a chart version whose %s uses %s. If the old API is already gone from the cluster, `helm upgrade` fails on the stored manifest: rewrite it first with the helm-mapkubeapis plugin (helm mapkubeapis %s -n %s). ",
				release, orTemplate(o.Source, pt.path), orNone(r.Replacement), rel.Name, rel.Namespace) + r.Fix()
			if live {
				p.found.add(f)
				continue
			}
			key := release + "\x00" + o.APIVersion + " " + o.Kind + " " + o.Namespace + "/" + o.Name
			h, ok := hs.history[key]
			if !ok {
				f.Check, f.Severity = CheckHelmRevisionAPI, finding.Info
				h = &helmHistory{release: release, object: o.APIVersion + " " + o.Kind + " " + o.Namespace + "/" + o.Name, finding: f}
				hs.history[key] = h
				hs.order = append(hs.order, key)
			}
			h.revisions = append(h.revisions, fmt.Sprintf("%d (%s)", rel.Version, status))
		}
	}
}

func orTemplate(source, path string) string {
	switch {
	case source != "":
		return source
	case path != "":
		return path
	}
	return "template"
}

func orNone(s string) string {
	if s == "" {
		return "a supported API"
	}
	return s
}
