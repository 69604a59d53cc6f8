// ebb-chart-render: a test-only renderer for charts/ebb. It uses what Helm uses to render a
// chart (Go's text/template, the sprig function library, sigs.k8s.io/yaml) plus the few
// Helm-specific functions and objects the chart calls. It is not Helm: see ../README.md for the
// limits. Output has the shape of `helm template`: documents sorted in Helm's install order, each
// preceded by "---" and a "# Source:" comment.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Chart mirrors the Chart.yaml fields Helm exposes as .Chart (capitalised names).
type Chart struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	Description string `json:"description"`
	Type        string `json:"type"`
	KubeVersion string `json:"kubeVersion"`
}

type KubeVersion struct {
	Version, Major, Minor, GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

type APIVersions []string

// Has answers like Helm's: "group/version" or "group/version/Kind".
func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions APIVersions
}

// Files gives templates read access to the chart's non-template files, as Helm's .Files does.
type Files struct{ root string }

func (f Files) Get(name string) string {
	clean := path.Clean("/" + name)
	if strings.HasPrefix(clean, "/templates/") {
		return "" // Helm does not expose templates through .Files
	}
	b, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(clean)))
	if err != nil {
		return ""
	}
	return string(b)
}

type Release struct {
	Name, Namespace, Service string
	IsInstall, IsUpgrade      bool
	Revision                  int
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "ebb-chart-render: "+format+"\n", args...)
	os.Exit(1)
}

// mergeValues overlays src on dst recursively; a null in src deletes the key (Helm's coalesce).
func mergeValues(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func readYAMLMap(file string) map[string]interface{} {
	b, err := os.ReadFile(file)
	if err != nil {
		die("%v", err)
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		die("%s: %v", file, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m
}

// splitUnescaped splits on sep where it is not preceded by a backslash, and unescapes.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			cur.WriteByte(s[i+1])
			i++
			continue
		}
		if s[i] == sep {
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(out, cur.String())
}

func typedValue(s string, asString bool) interface{} {
	if asString {
		return s
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && (s == "0" || !strings.HasPrefix(s, "0")) {
		return i
	}
	return s
}

// applySet handles the --set forms the tests use: a.b.c=v, a.b={x,y}, a.list[0]=v (index into
// an existing or new list), escaped dots (a\.b), and typed scalars (bool, int64, null).
func applySet(vals map[string]interface{}, expr string, asString bool) {
	eq := strings.IndexByte(expr, '=')
	if eq <= 0 {
		die("--set %q: expected key=value", expr)
	}
	key, raw := expr[:eq], expr[eq+1:]
	var value interface{}
	if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
		items := []interface{}{}
		if inner := raw[1 : len(raw)-1]; inner != "" {
			for _, it := range splitUnescaped(inner, ',') {
				items = append(items, typedValue(it, asString))
			}
		}
		value = items
	} else {
		value = typedValue(raw, asString)
	}
	parts := splitUnescaped(key, '.')
	cur := vals
	for i, p := range parts {
		last := i == len(parts)-1
		name, idx := p, -1
		if b := strings.IndexByte(p, '['); b > 0 && strings.HasSuffix(p, "]") {
			n, err := strconv.Atoi(p[b+1 : len(p)-1])
			if err != nil || n < 0 {
				die("--set %q: bad index in %q", expr, p)
			}
			name, idx = p[:b], n
		}
		if idx >= 0 {
			list, _ := cur[name].([]interface{})
			for len(list) <= idx {
				list = append(list, nil)
			}
			cur[name] = list
			if last {
				list[idx] = value
				return
			}
			m, ok := list[idx].(map[string]interface{})
			if !ok {
				m = map[string]interface{}{}
				list[idx] = m
			}
			cur = m
			continue
		}
		if last {
			if value == nil {
				delete(cur, name)
			} else {
				cur[name] = value
			}
			return
		}
		m, ok := cur[name].(map[string]interface{})
		if !ok {
			m = map[string]interface{}{}
			cur[name] = m
		}
		cur = m
	}
}

// Helm's install order (pkg/releaseutil/kind_sorter.go); unknown kinds go last.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService",
}

type manifest struct {
	source  string
	content string
	kind    string
	seq     int
}

func kindRank(k string) int {
	for i, x := range installOrder {
		if x == k {
			return i
		}
	}
	return len(installOrder)
}

func main() {
	var chartDir, name, namespace, kubeVersion, releaseService string
	var valueFiles, sets, setStrings, apiVersions multiFlag
	var includeCRDs, notes, upgrade bool
	flag.StringVar(&chartDir, "chart", "", "chart directory (required)")
	flag.StringVar(&name, "name", "ebb", "release name")
	flag.StringVar(&namespace, "namespace", "ebb-system", "release namespace")
	flag.StringVar(&kubeVersion, "kube-version", "v1.30.0", "Capabilities.KubeVersion")
	flag.StringVar(&releaseService, "release-service", "Helm", "Release.Service")
	flag.Var(&valueFiles, "values", "values file (repeatable, later wins)")
	flag.Var(&valueFiles, "f", "same as --values")
	flag.Var(&sets, "set", "key=value (repeatable)")
	flag.Var(&setStrings, "set-string", "key=value kept as a string (repeatable)")
	flag.Var(&apiVersions, "api-versions", "extra Capabilities.APIVersions entry (repeatable)")
	flag.BoolVar(&includeCRDs, "include-crds", false, "emit the chart's crds/ first")
	flag.BoolVar(&notes, "notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.BoolVar(&upgrade, "upgrade", false, "render as an upgrade (Release.IsUpgrade)")
	flag.Parse()
	if chartDir == "" || flag.NArg() > 0 {
		die("usage: ebb-chart-render --chart DIR [--values F]... [--set k=v]... [--name N] [--namespace NS] [--include-crds] [--notes]")
	}

	var chart Chart
	cb, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		die("%v", err)
	}
	if err := yaml.Unmarshal(cb, &chart); err != nil {
		die("Chart.yaml: %v", err)
	}
	if chart.Name == "" || chart.Version == "" || chart.APIVersion != "v2" {
		die("Chart.yaml: apiVersion v2, name and version are required")
	}

	values := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	for _, f := range valueFiles {
		mergeValues(values, readYAMLMap(f))
	}
	for _, s := range sets {
		applySet(values, s, false)
	}
	for _, s := range setStrings {
		applySet(values, s, true)
	}

	kv := strings.TrimPrefix(kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	if len(parts) < 2 {
		die("--kube-version %q: expected vMAJOR.MINOR[.PATCH]", kubeVersion)
	}
	caps := Capabilities{
		KubeVersion: KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1], GitVersion: "v" + kv},
		APIVersions: append(APIVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "policy/v1",
			"apiregistration.k8s.io/v1", "admissionregistration.k8s.io/v1", "autoscaling/v2",
			"coordination.k8s.io/v1", "apiextensions.k8s.io/v1"}, apiVersions...),
	}
	top := map[string]interface{}{
		"Values":       values,
		"Chart":        chart,
		"Capabilities": caps,
		"Files":        Files{root: chartDir},
		"Release": Release{Name: name, Namespace: namespace, Service: releaseService,
			IsInstall: !upgrade, IsUpgrade: upgrade, Revision: 1},
	}

	// Every file under templates/ is parsed into one set so that include sees all defines.
	root := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includeDepth := map[string]int{}
	funcs["include"] = func(n string, data interface{}) (string, error) {
		if includeDepth[n] > 1000 {
			return "", fmt.Errorf("include %q: recursion too deep", n)
		}
		includeDepth[n]++
		defer func() { includeDepth[n]-- }()
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, n, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["toYaml"] = func(v interface{}) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	// Helm's lookup asks the cluster; here there is none, so it returns what Helm returns for
	// `helm template` and for an object that does not exist: an empty map.
	funcs["lookup"] = func(apiVersion, kind, ns, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	root.Funcs(funcs)

	tdir := filepath.Join(chartDir, "templates")
	var names []string
	err = filepath.WalkDir(tdir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		die("%v", err)
	}
	sort.Strings(names)
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			die("%v", err)
		}
		rel, _ := filepath.Rel(chartDir, p)
		tname := chart.Name + "/" + filepath.ToSlash(rel)
		if _, err := root.New(tname).Parse(string(b)); err != nil {
			die("%v", err)
		}
	}

	render := func(tname string) string {
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": tname, "BasePath": chart.Name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, tname, data); err != nil {
			die("%v", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", "")
	}

	if notes {
		for _, p := range names {
			if filepath.Base(p) == "NOTES.txt" {
				rel, _ := filepath.Rel(chartDir, p)
				fmt.Print(render(chart.Name + "/" + filepath.ToSlash(rel)))
			}
		}
		return
	}

	var out bytes.Buffer
	if includeCRDs {
		crds, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		sort.Strings(crds)
		for _, c := range crds {
			b, err := os.ReadFile(c)
			if err != nil {
				die("%v", err)
			}
			rel, _ := filepath.Rel(chartDir, c)
			fmt.Fprintf(&out, "---\n# Source: %s/%s\n%s", chart.Name, filepath.ToSlash(rel), strings.TrimPrefix(string(b), "---\n"))
			if !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
				out.WriteByte('\n')
			}
		}
	}
	var ms []manifest
	for _, p := range names {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		rel, _ := filepath.Rel(chartDir, p)
		tname := chart.Name + "/" + filepath.ToSlash(rel)
		text := render(tname)
		for _, doc := range splitDocs(text) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				die("%s: rendered YAML does not parse: %v\n%s", tname, err, doc)
			}
			ms = append(ms, manifest{source: tname, content: strings.TrimSpace(doc), kind: head.Kind, seq: len(ms)})
		}
	}
	sort.SliceStable(ms, func(i, j int) bool {
		ri, rj := kindRank(ms[i].kind), kindRank(ms[j].kind)
		if ri != rj {
			return ri < rj
		}
		return ms[i].seq < ms[j].seq
	})
	for _, m := range ms {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	os.Stdout.Write(out.Bytes())
}

// splitDocs splits a rendered file on lines that are exactly "---" (Helm's document separator).
func splitDocs(s string) []string {
	var docs []string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(docs, strings.Join(cur, "\n"))
}

func stripComments(doc string) string {
	var keep []string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
